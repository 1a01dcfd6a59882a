//go:build unix

package service

import "syscall"

// PrivateFiles makes every file and folder this process creates from now on
// readable by its own user only (mode 0600 and 0700): the data dir holds the
// Temporal database, S3 objects, keys and tokens.
func PrivateFiles() { syscall.Umask(0o077) }
