package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/crypto/acme"
)

// obtain gets a new certificate for host from the CA of settings, answering the challenge settings name, and
// stores it. It returns the certificate to serve.
func (m *Manager) obtain(ctx context.Context, host string, settings Settings) (*tls.Certificate, error) {
	ca := caFolder(settings.Directory)
	client, err := m.client(ctx, ca, settings)
	if err != nil {
		return nil, err
	}
	order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(host))
	if err != nil {
		return nil, fmt.Errorf("new order at %s: %w", settings.Directory, err)
	}
	for _, u := range order.AuthzURLs {
		if err := m.authorize(ctx, client, u, host, settings.Challenge); err != nil {
			return nil, err
		}
	}
	if _, err := client.WaitOrder(ctx, order.URI); err != nil {
		return nil, fmt.Errorf("order for %s: %w", host, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{host}}, key)
	if err != nil {
		return nil, err
	}
	chain, err := finalize(ctx, client, order, csr)
	if err != nil {
		return nil, fmt.Errorf("finalize order for %s: %w", host, err)
	}
	leaf, err := checkChain(chain, host, key)
	if err != nil {
		return nil, err
	}
	if err := m.store.save(ca, host, chain, key); err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// authorize completes the authorization at u for host with the named challenge.
func (m *Manager) authorize(ctx context.Context, client *acme.Client, u, host, challenge string) error {
	z, err := client.GetAuthorization(ctx, u)
	if err != nil {
		return fmt.Errorf("authorization for %s: %w", host, err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	var chal *acme.Challenge
	for _, c := range z.Challenges {
		if c.Type == challenge {
			chal = c
		}
	}
	if chal == nil {
		return fmt.Errorf("the CA offers no %s challenge for %s", challenge, host)
	}
	switch challenge {
	case HTTP01:
		keyAuth, err := client.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.http01[chal.Token] = httpChallenge{host: host, keyAuth: keyAuth}
		m.mu.Unlock()
		defer func() {
			m.mu.Lock()
			delete(m.http01, chal.Token)
			m.mu.Unlock()
		}()
	case TLSALPN01:
		cert, err := client.TLSALPN01ChallengeCert(chal.Token, host)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.alpn[host] = &cert
		m.mu.Unlock()
		defer func() {
			m.mu.Lock()
			delete(m.alpn, host)
			m.mu.Unlock()
		}()
	}
	if _, err := client.Accept(ctx, chal); err != nil {
		return fmt.Errorf("%s challenge for %s: %w", challenge, host, err)
	}
	if _, err := client.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("%s challenge for %s: %w", challenge, host, err)
	}
	return nil
}

// client returns the ACME client of the CA folder's account for settings' email, registering the account
// the first time.
func (m *Manager) client(ctx context.Context, ca string, settings Settings) (*acme.Client, error) {
	id := ca + "\x00" + settings.Email
	m.mu.Lock()
	c, ok := m.clients[id]
	m.mu.Unlock()
	if ok {
		return c, nil
	}
	key, err := m.store.accountKey(ca, settings.Email)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: m.cfg.Roots, MinVersion: tls.VersionTLS12}
	c = &acme.Client{Key: key, DirectoryURL: settings.Directory, UserAgent: "ferry",
		HTTPClient: &http.Client{Transport: tr, Timeout: time.Minute}}
	var contact []string
	if settings.Email != "" {
		contact = []string{"mailto:" + settings.Email}
	}
	if _, err := c.Register(ctx, &acme.Account{Contact: contact}, acme.AcceptTOS); err != nil &&
		!errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("register account at %s: %w", settings.Directory, err)
	}
	m.mu.Lock()
	m.clients[id] = c
	m.mu.Unlock()
	return c, nil
}

// checkChain parses the chain the CA returned and checks that its leaf is for host and for key.
func checkChain(chain [][]byte, host string, key *ecdsa.PrivateKey) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("the CA returned no certificate for %s", host)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("certificate for %s: %w", host, err)
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("the CA's certificate for %s is not for the key ferry sent", host)
	}
	return leaf, nil
}

// finalize submits the CSR and returns the issued chain. A CA that finalizes asynchronously without a Location
// header on its answer (pebble) leaves CreateOrderCert polling an empty URL: then the order is polled at its
// own URL and the certificate fetched from there.
func finalize(ctx context.Context, client *acme.Client, order *acme.Order, csr []byte) ([][]byte, error) {
	chain, _, err := client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err == nil {
		return chain, nil
	}
	o, werr := client.WaitOrder(ctx, order.URI)
	if werr != nil || o.Status != acme.StatusValid || o.CertURL == "" {
		return nil, err
	}
	return client.FetchCert(ctx, o.CertURL, true)
}
