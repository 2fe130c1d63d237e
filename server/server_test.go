package server_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
	"github.com/crisphq/crisp/store"
)

const chat = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

// writeCert makes a self-signed certificate for 127.0.0.1 and returns the
// cert and key paths and a pool that trusts it.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crisp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func startTLS(t *testing.T, yaml, certFile, keyFile string) *servertest.Crisp {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.TLS = config.TLS{Cert: certFile, Key: keyFile}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return servertest.StartOn(t, cfg, ln)
}

func post(t *testing.T, client *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(chat))
	req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	return client.Do(req)
}

// TestServeTLS serves HTTPS only, with TLS 1.2 or newer.
func TestServeTLS(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	certFile, keyFile, pool := writeCert(t)
	crisp := startTLS(t, servertest.Config(fake.URL(), ""), certFile, keyFile)
	if !strings.HasPrefix(crisp.URL, "https://") {
		t.Fatalf("URL %s", crisp.URL)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := post(t, client, crisp.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("status %d, TLS %+v", resp.StatusCode, resp.TLS)
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := post(t, old, crisp.URL); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	plain := strings.Replace(crisp.URL, "https://", "http://", 1)
	if resp, err := post(t, http.DefaultClient, plain); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP was served on the TLS port")
		}
	}
}

// TestProviderTLSVerified checks crisp verifies provider certificates: an
// unknown CA is refused (502), and trusted through ca_file.
func TestProviderTLSVerified(t *testing.T) {
	fake := providertest.NewTLS()
	defer fake.Close()

	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	resp, err := post(t, http.DefaultClient, crisp.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("untrusted provider certificate: status %d, want 502", resp.StatusCode)
	}
	if len(fake.Received()) != 0 {
		t.Fatal("a request reached a provider whose certificate failed verification")
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fake.Server.Certificate().Raw}), 0o600)
	crisp2 := servertest.Start(t, servertest.Config(fake.URL(), "    ca_file: "+caFile))
	resp, err = post(t, http.DefaultClient, crisp2.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("trusted provider: status %d", resp.StatusCode)
	}
}

// TestInsecureProviderNeedsOptIn: plain http off loopback is a config error
// unless allow_insecure is set, which is then logged loudly.
func TestInsecureProviderNeedsOptIn(t *testing.T) {
	_, err := config.Parse("test.yaml", []byte(servertest.Config("http://llm.internal.example/v1", "")), nil)
	if err == nil || !strings.Contains(err.Error(), "test.yaml:7: providers[0].base_url: must be https://") {
		t.Fatalf("err = %v", err)
	}
	crisp := servertest.Start(t, servertest.Config("http://llm.internal.example/v1", "    allow_insecure: true"))
	if !strings.Contains(crisp.Logs.String(), "INSECURE") {
		t.Fatalf("no loud warning in %s", crisp.Logs.String())
	}
}

// TestGracefulShutdown: on shutdown new connections are refused while an
// in-flight stream runs to its end.
func TestGracefulShutdown(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Gate = make(chan struct{})
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))

	req, _ := http.NewRequest("POST", crisp.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[]}`))
	req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	done := crisp.StopAsync()
	addr := strings.TrimPrefix(crisp.URL, "http://")
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break // refused: the listener is closed
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	go func() {
		for range 50 {
			select {
			case fake.Gate <- struct{}{}:
			case <-time.After(2 * time.Second):
				return
			}
		}
	}()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("in-flight stream cut: %v", err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(rest)), "data: [DONE]") {
		t.Fatalf("in-flight stream did not finish: %q", rest)
	}
	select {
	case <-done:
		if err := crisp.Stop(); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not finish")
	}
}

// TestDefinitionsAudited records the catalog and policy in force once, and
// again when they change between starts.
func TestDefinitionsAudited(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "crisp.db")
	count := func() (catalogs, policies int) {
		db, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		l, _ := audit.Open(context.Background(), db, audit.Options{ReadOnly: true})
		defer l.Close()
		for _, k := range []string{audit.KindAdminCatalog, audit.KindAdminPolicy} {
			recs, _, _ := l.List(context.Background(), audit.Filter{Workspace: "acme", Kind: k})
			if k == audit.KindAdminCatalog {
				catalogs = len(recs)
			} else {
				policies = len(recs)
			}
		}
		return
	}
	start := func(extraRule string) {
		cfg, err := config.Parse("test.yaml", []byte(servertest.Config(fake.URL(), "")), nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Storage.DSN = dsn
		defs := filepath.Join(dir, "defs")
		os.MkdirAll(filepath.Join(defs, "policies"), 0o755)
		cat, _ := os.ReadFile("../configs/catalog.yaml")
		rules, _ := os.ReadFile("../configs/policies/acme.rules")
		os.WriteFile(filepath.Join(defs, "catalog.yaml"), cat, 0o644)
		os.WriteFile(filepath.Join(defs, "policies", "acme.rules"), append(rules, extraRule...), 0o644)
		cfg.Dir = defs
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		servertest.StartOn(t, cfg, ln).Stop()
	}
	start("")
	start("")
	if c, p := count(); c != 1 || p != 1 {
		t.Fatalf("after two starts: %d catalog, %d policy records; want 1, 1", c, p)
	}
	start("\nhide account.seats for ai\n")
	if c, p := count(); c != 1 || p != 2 {
		t.Fatalf("after a policy edit: %d catalog, %d policy records; want 1, 2", c, p)
	}
}
