package main

// The sandbox's own PKI: one CA signs every serving and client certificate,
// plus an RSA key pair for service-account tokens and a static token file.
// Files that already exist in DIR/pki are reused, so a sandbox can be
// stopped and started again on the same DIR without invalidating anything.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
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

type certSpec struct {
	name   string   // file stem in DIR/pki
	cn     string   // Subject CN (the user name for client certs)
	orgs   []string // Subject O (the groups for client certs)
	server bool     // serving cert (ExtKeyUsageServerAuth) rather than client
	dns    []string
	ips    []net.IP
}

type pki struct {
	dir    string
	caCert *x509.Certificate
	caKey  crypto.Signer
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func readPEM(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return blk.Bytes, nil
}

func newSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func readKey(path string) (crypto.Signer, error) {
	der, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return s, nil
}

func loadOrCreatePKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{dir: dir}
	crt, key := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if fileExists(crt) && fileExists(key) {
		der, err := readPEM(crt)
		if err != nil {
			return nil, err
		}
		if p.caCert, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
		if p.caKey, err = readKey(key); err != nil {
			return nil, err
		}
		return p, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: "sandbox-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	if err := writeKey(key, k); err != nil {
		return nil, err
	}
	if err := writePEM(crt, "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	p.caKey = k
	p.caCert, err = x509.ParseCertificate(der)
	return p, err
}

// ensure writes DIR/pki/NAME.crt and NAME.key signed by the CA unless both exist.
func (p *pki) ensure(s certSpec) (crtPath, keyPath string, err error) {
	crtPath, keyPath = filepath.Join(p.dir, s.name+".crt"), filepath.Join(p.dir, s.name+".key")
	if fileExists(crtPath) && fileExists(keyPath) {
		return crtPath, keyPath, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		DNSNames:              s.dns,
		IPAddresses:           s.ips,
	}
	if s.server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &k.PublicKey, p.caKey)
	if err != nil {
		return "", "", err
	}
	if err := writeKey(keyPath, k); err != nil {
		return "", "", err
	}
	return crtPath, keyPath, writePEM(crtPath, "CERTIFICATE", der, 0o644)
}

// ensureServiceAccountKey writes sa.key (RSA, PKCS#1) and sa.pub.
func (p *pki) ensureServiceAccountKey() (keyPath, pubPath string, err error) {
	keyPath, pubPath = filepath.Join(p.dir, "sa.key"), filepath.Join(p.dir, "sa.pub")
	if fileExists(keyPath) && fileExists(pubPath) {
		return keyPath, pubPath, nil
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	if err := writePEM(keyPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k), 0o600); err != nil {
		return "", "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", err
	}
	return keyPath, pubPath, writePEM(pubPath, "PUBLIC KEY", pub, 0o644)
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

type staticToken struct {
	token, user, uid string
	groups           []string
}

// ensureTokenFile writes the API server's --token-auth-file (CSV:
// token,user,uid,"group1,group2") unless it exists, and returns its entries.
func (p *pki) ensureTokenFile(entries []staticToken) (string, []staticToken, error) {
	path := filepath.Join(p.dir, "tokens.csv")
	if fileExists(path) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", nil, err
		}
		var out []staticToken
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.SplitN(line, ",", 4)
			if len(f) < 3 {
				continue
			}
			t := staticToken{token: f[0], user: f[1], uid: f[2]}
			if len(f) == 4 {
				t.groups = strings.Split(strings.Trim(f[3], `"`), ",")
			}
			out = append(out, t)
		}
		for _, want := range entries {
			found := false
			for _, t := range out {
				found = found || t.user == want.user
			}
			if !found {
				return "", nil, errors.New(path + ": has no token for " + want.user + " (remove the file to regenerate)")
			}
		}
		return path, out, nil
	}
	var sb strings.Builder
	for i := range entries {
		entries[i].token = randomToken()
		fmt.Fprintf(&sb, "%s,%s,%s,\"%s\"\n", entries[i].token, entries[i].user, entries[i].uid, strings.Join(entries[i].groups, ","))
	}
	return path, entries, os.WriteFile(path, []byte(sb.String()), 0o600)
}
