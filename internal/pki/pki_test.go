package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server certificate and a client certificate of one CA complete a mutual
// TLS handshake; a client without a certificate, or with another CA's, does
// not.
func TestMutualTLSWithTheLocalCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := OpenAuthority(dir)
	require.NoError(t, err)
	server, err := ca.Issue("temporal", "127.0.0.1", "localhost")
	require.NoError(t, err)
	client, err := ca.Issue("control-plane")
	require.NoError(t, err)

	again, err := OpenAuthority(dir)
	require.NoError(t, err)
	same, err := again.Issue("control-plane")
	require.NoError(t, err)
	assert.Equal(t, client, same)
	raw, err := os.ReadFile(client.CertFile)
	require.NoError(t, err)
	raw2, err := os.ReadFile(same.CertFile)
	require.NoError(t, err)
	assert.Equal(t, raw, raw2, "an existing certificate is kept")
	info, err := os.Stat(client.KeyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	other, err := OpenAuthority(t.TempDir())
	require.NoError(t, err)
	stranger, err := other.Issue("control-plane")
	require.NoError(t, err)

	pool := func(file string) *x509.CertPool {
		p := x509.NewCertPool()
		pem, err := os.ReadFile(file)
		require.NoError(t, err)
		require.True(t, p.AppendCertsFromPEM(pem))
		return p
	}
	serverCert, err := tls.LoadX509KeyPair(server.CertFile, server.KeyFile)
	require.NoError(t, err)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool(server.CAFile), ClientAuth: tls.RequireAndVerifyClientCert,
	})
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()

	dial := func(b *Bundle) error {
		cfg := &tls.Config{RootCAs: pool(server.CAFile), ServerName: "127.0.0.1"}
		if b != nil {
			cert, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile)
			require.NoError(t, err)
			cfg.Certificates = []tls.Certificate{cert}
		}
		conn, err := tls.Dial("tcp", l.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		// The server's verdict on the client comes with the first read: the
		// server closes an accepted connection (EOF) and alerts a refused one.
		_, err = conn.Read(make([]byte, 1))
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	assert.NoError(t, dial(&client), "a client of the CA")
	assert.Error(t, dial(nil), "no client certificate")
	assert.Error(t, dial(&stranger), "another CA's client")
}
