// Package acme obtains, stores and renews TLS certificates from an ACME CA (Let's Encrypt's protocol) for the
// hosts of the data plane's environments, and serves them: GetCertificate for the TLS listener (which also
// answers TLS-ALPN-01 challenges, acme-tls/1 hellos) and HandleHTTPChallenge for the plain-HTTP listener
// (HTTP-01). A Manager obtains certificates as soon as an environment names its hosts, not at the first
// handshake; it renews them before they expire, keeps serving the certificate it has when obtaining or renewing
// fails, and reports per host the certificate served, the last error and when it tries next (Status).
//
// Certificates live under one folder (the data plane's <data>/certs): a folder per CA, in it the account keys
// and a folder per host with cert.pem and key.pem (0600). Every file is written through an os.Root on that
// folder, so no host name or directory URL a commit gives can make it write elsewhere. A host belongs to one
// environment at a time: another environment naming it is refused, so one project can neither obtain nor be
// served a certificate for another's host.
//
// It is built on golang.org/x/crypto/acme (the protocol) and imports nothing of ferry's.
package acme
