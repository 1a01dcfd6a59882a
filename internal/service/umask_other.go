//go:build !unix

package service

// PrivateFiles has nothing to set where there is no umask.
func PrivateFiles() {}
