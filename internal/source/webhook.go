package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Providers as they appear in Push.Provider.
const (
	ProviderGitHub = "github"
	ProviderGitea  = "gitea"
	ProviderGitLab = "gitlab"
)

var (
	// ErrSignature means a webhook's signature or token is wrong or missing, or the project has no webhook
	// secret. The server answers 401 and starts nothing.
	ErrSignature = errors.New("webhook signature or token does not match the project's secret")

	// ErrNotPush means a verified webhook announces something other than a push (GitHub's "ping", an issue
	// comment...). The server answers 202 and starts nothing.
	ErrNotPush = errors.New("webhook event is not a push")
)

// Push is a verified push to one ref, as announced by a forge's webhook.
type Push struct {
	Provider string // ProviderGitHub, ProviderGitea or ProviderGitLab
	Ref      string // full ref: "refs/heads/main", "refs/tags/v1.2.0"
	// Branch is Ref without "refs/heads/"; empty when the ref is not a branch (a tag, a note...).
	Branch string
	// Commit is the lowercase hex object name (40 characters, or 64 for SHA-256 repositories) the ref points
	// to after the push; empty when Deleted.
	Commit string
	// Deleted is true when the push deleted the ref.
	Deleted bool
}

// ParseWebhook verifies a webhook request from GitHub, Gitea (and Forgejo) or GitLab with the project's secret
// and returns the push it announces.
//
// The provider is told by its event header: X-Gitea-Event (checked first, because Gitea also sends GitHub's
// headers), X-GitHub-Event, X-Gitlab-Event. GitHub signs the body with X-Hub-Signature-256 ("sha256=" and a
// hex HMAC-SHA256), Gitea with X-Gitea-Signature (the bare hex HMAC; its X-Hub-Signature-256 is accepted too),
// GitLab sends the secret itself in X-Gitlab-Token. The body is only parsed after it has been verified.
//
// An empty secret verifies nothing: every request fails with ErrSignature, so a project without a secret
// accepts no webhooks. Errors are ErrSignature (answer 401), ErrNotPush (answer 202), or, for an unknown
// provider or a payload that is not a valid push, any other error (answer 400).
func ParseWebhook(h http.Header, body []byte, secret string) (*Push, error) {
	if secret == "" {
		return nil, fmt.Errorf("project has no webhook secret: %w", ErrSignature)
	}
	switch {
	case h.Get("X-Gitea-Event") != "":
		return parseHubPush(ProviderGitea, h.Get("X-Gitea-Event"), body, verifyGitea(h, body, secret))
	case h.Get("X-GitHub-Event") != "":
		return parseHubPush(ProviderGitHub, h.Get("X-GitHub-Event"), body, verifyGitHub(h, body, secret))
	case h.Get("X-Gitlab-Event") != "":
		return parseGitLabPush(h.Get("X-Gitlab-Event"), body, verifyGitLab(h, secret))
	}
	return nil, errors.New("webhook from an unknown provider: expected an X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header")
}

// verifyGitHub checks "X-Hub-Signature-256: sha256=<hex>". The older SHA-1 X-Hub-Signature is ignored.
func verifyGitHub(h http.Header, body []byte, secret string) error {
	sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
	if !ok {
		return fmt.Errorf("github: missing X-Hub-Signature-256: %w", ErrSignature)
	}
	if !hmacMatches(sig, body, secret) {
		return fmt.Errorf("github: %w", ErrSignature)
	}
	return nil
}

// verifyGitea accepts either of the two signatures Gitea sends, so a forge configured either way works.
func verifyGitea(h http.Header, body []byte, secret string) error {
	gitea := h.Get("X-Gitea-Signature")
	hub, hubOK := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
	if gitea == "" && !hubOK {
		return fmt.Errorf("gitea: missing X-Gitea-Signature: %w", ErrSignature)
	}
	if (gitea != "" && hmacMatches(gitea, body, secret)) || (hubOK && hmacMatches(hub, body, secret)) {
		return nil
	}
	return fmt.Errorf("gitea: %w", ErrSignature)
}

// verifyGitLab compares the token with the secret in constant time. Both are hashed first so that the time
// taken does not reveal the secret's length either.
func verifyGitLab(h http.Header, secret string) error {
	token := h.Get("X-Gitlab-Token")
	if token == "" {
		return fmt.Errorf("gitlab: missing X-Gitlab-Token: %w", ErrSignature)
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(secret))
	if !hmac.Equal(got[:], want[:]) {
		return fmt.Errorf("gitlab: %w", ErrSignature)
	}
	return nil
}

// hmacMatches reports whether sigHex is the hex HMAC-SHA256 of body under secret.
func hmacMatches(sigHex string, body []byte, secret string) bool {
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// parseHubPush parses the push payload shared by GitHub and Gitea, once verified is nil.
func parseHubPush(provider, event string, body []byte, verified error) (*Push, error) {
	if verified != nil {
		return nil, verified
	}
	if event != "push" {
		return nil, fmt.Errorf("%s event %q: %w", provider, event, ErrNotPush)
	}
	var p struct {
		Ref   *string `json:"ref"`
		After *string `json:"after"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("%s push payload: %w", provider, err)
	}
	if p.After == nil {
		return nil, fmt.Errorf("%s push payload: missing \"after\"", provider)
	}
	deleted := isZeroObjectName(*p.After)
	return newPush(provider, p.Ref, *p.After, deleted)
}

// parseGitLabPush parses a GitLab push or tag push payload, once verified is nil. GitLab's checkout_sha is the
// commit to build; it is null when the ref was deleted.
func parseGitLabPush(event string, body []byte, verified error) (*Push, error) {
	if verified != nil {
		return nil, verified
	}
	// A tag push is a push of a ref like any other: it gives a Push with an empty Branch, as GitHub's does.
	if event != "Push Hook" && event != "Tag Push Hook" {
		return nil, fmt.Errorf("gitlab event %q: %w", event, ErrNotPush)
	}
	var p struct {
		Ref         *string `json:"ref"`
		After       *string `json:"after"`
		CheckoutSHA *string `json:"checkout_sha"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("gitlab push payload: %w", err)
	}
	commit := ""
	switch {
	case p.CheckoutSHA != nil && *p.CheckoutSHA != "":
		commit = *p.CheckoutSHA
	case p.After != nil:
		commit = *p.After
	default:
		return nil, errors.New("gitlab push payload: missing \"checkout_sha\" and \"after\"")
	}
	deleted := (p.CheckoutSHA == nil || *p.CheckoutSHA == "") && isZeroObjectName(commit)
	return newPush(ProviderGitLab, p.Ref, commit, deleted)
}

// newPush validates what every provider sends and builds the Push.
func newPush(provider string, ref *string, commit string, deleted bool) (*Push, error) {
	if ref == nil {
		return nil, fmt.Errorf("%s push payload: missing \"ref\"", provider)
	}
	if !isValidRef(*ref) {
		return nil, fmt.Errorf("%s push payload: ref %q is not a full git ref like refs/heads/main", provider, *ref)
	}
	push := &Push{Provider: provider, Ref: *ref, Deleted: deleted}
	if branch, ok := strings.CutPrefix(*ref, "refs/heads/"); ok {
		push.Branch = branch
	}
	if deleted {
		return push, nil
	}
	if !isObjectName(commit) {
		return nil, fmt.Errorf("%s push payload: commit %q is not a lowercase hex object name of 40 or 64 characters", provider, commit)
	}
	push.Commit = commit
	return push, nil
}

// isObjectName reports whether s is a full git object name: SHA-1 (40) or SHA-256 (64), lowercase hex.
func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// isZeroObjectName reports whether s is the all-zero object name forges send for a deleted ref.
func isZeroObjectName(s string) bool {
	return (len(s) == 40 || len(s) == 64) && strings.Trim(s, "0") == ""
}

// isValidRef reports whether ref is a full ref that git itself would accept (the rules of
// git-check-ref-format), and whose parts do not start with "-". The ref later reaches git command lines, so
// anything odd is refused here.
func isValidRef(ref string) bool {
	rest, ok := strings.CutPrefix(ref, "refs/")
	if !ok || rest == "" || strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") ||
		strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.Contains(ref, "//") {
		return false
	}
	for _, part := range strings.Split(ref, "/") {
		if strings.HasPrefix(part, ".") || strings.HasPrefix(part, "-") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return false
		}
	}
	return true
}
