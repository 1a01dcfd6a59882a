// Package pki makes the certificates of the embedded default: one local CA
// and a certificate for the Temporal frontend and for each client role, kept
// in the data dir, so that `dure dev` speaks mutual TLS exactly as a
// deployment does with certificates from its own CA.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Organization is the O of every certificate this package makes; a role is
// its certificate's CN.
const Organization = "dure"

// Bundle is one role's certificate and key, and the CA that signs its peers.
type Bundle struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Lifetimes of what this package makes: a dev CA outlives many restarts; a
// leaf is made again when it nears its end.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

// Authority is a CA whose key is on disk.
type Authority struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// CAFile is the CA certificate every peer trusts.
func (a *Authority) CAFile() string { return filepath.Join(a.dir, "ca.pem") }

// OpenAuthority loads the CA in dir, or makes one there (files mode 0600 in
// a 0700 folder) when dir has none.
func OpenAuthority(dir string) (*Authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki dir: %w", err)
	}
	a := &Authority{dir: dir}
	cert, key, err := readPair(a.CAFile(), filepath.Join(dir, "ca-key.pem"))
	if err == nil {
		a.cert, a.key = cert, key
		return a, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if a.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{Organization}, CommonName: "dure local CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &a.key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("make CA: %w", err)
	}
	if a.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	if err := writePair(a.CAFile(), filepath.Join(dir, "ca-key.pem"), der, a.key); err != nil {
		return nil, err
	}
	return a, nil
}

// Issue returns the certificate of a role, making it when it is missing, not
// signed by this CA, or near its end. hosts are the names and addresses a
// server certificate answers for; a client certificate has none.
func (a *Authority) Issue(role string, hosts ...string) (Bundle, error) {
	file := strings.ReplaceAll(role, ":", "-")
	b := Bundle{CAFile: a.CAFile(), CertFile: filepath.Join(a.dir, file+".pem"), KeyFile: filepath.Join(a.dir, file+"-key.pem")}
	if cert, _, err := readPair(b.CertFile, b.KeyFile); err == nil && cert.CheckSignatureFrom(a.cert) == nil &&
		time.Until(cert.NotAfter) > renewBefore && cert.Subject.CommonName == role {
		return b, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Bundle{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{Organization}, CommonName: role},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(hosts) > 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return Bundle{}, fmt.Errorf("issue %s: %w", role, err)
	}
	if err := writePair(b.CertFile, b.KeyFile, der, key); err != nil {
		return Bundle{}, err
	}
	return b, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func readPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s or %s holds no PEM block", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certFile, err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return cert, key, nil
}

func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	return nil
}
