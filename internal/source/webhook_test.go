package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

const (
	webhookSecret = "s3cret"
	webhookSHA    = "0123456789abcdef0123456789abcdef01234567"
	webhookZeros  = "0000000000000000000000000000000000000000"
)

var (
	webhookPushBody = []byte(`{"ref":"refs/heads/main","before":"` + webhookZeros + `","after":"` + webhookSHA + `"}`)
	gitlabPushBody  = []byte(`{"object_kind":"push","ref":"refs/heads/main","after":"` + webhookSHA +
		`","checkout_sha":"` + webhookSHA + `"}`)
)

// webhookSign returns the hex HMAC-SHA256 of body, as GitHub and Gitea compute it.
func webhookSign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// webhookHeaders builds request headers from name/value pairs.
func webhookHeaders(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func githubHeaders(event string, body []byte, secret string) http.Header {
	return webhookHeaders("X-GitHub-Event", event, "X-Hub-Signature-256", "sha256="+webhookSign(body, secret))
}

func giteaHeaders(event string, body []byte, secret string) http.Header {
	return webhookHeaders("X-Gitea-Event", event, "X-Gitea-Signature", webhookSign(body, secret))
}

func gitlabHeaders(event, token string) http.Header {
	return webhookHeaders("X-Gitlab-Event", event, "X-Gitlab-Token", token)
}

func TestParseWebhookSignature(t *testing.T) {
	mainPush := &Push{Ref: "refs/heads/main", Branch: "main", Commit: webhookSHA}
	tests := []struct {
		name     string
		header   http.Header
		body     []byte
		provider string // empty: ErrSignature is expected
	}{
		{"github good", githubHeaders("push", webhookPushBody, webhookSecret), webhookPushBody, ProviderGitHub},
		{"github wrong secret", githubHeaders("push", webhookPushBody, "other"), webhookPushBody, ""},
		{"github body changed", githubHeaders("push", webhookPushBody, webhookSecret), append([]byte(" "), webhookPushBody...), ""},
		{"github missing", webhookHeaders("X-GitHub-Event", "push"), webhookPushBody, ""},
		{"github without sha256= prefix", webhookHeaders("X-GitHub-Event", "push",
			"X-Hub-Signature-256", webhookSign(webhookPushBody, webhookSecret)), webhookPushBody, ""},
		{"github not hex", webhookHeaders("X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256=zz"), webhookPushBody, ""},
		{"gitea good", giteaHeaders("push", webhookPushBody, webhookSecret), webhookPushBody, ProviderGitea},
		{"gitea wrong secret", giteaHeaders("push", webhookPushBody, "other"), webhookPushBody, ""},
		{"gitea missing", webhookHeaders("X-Gitea-Event", "push"), webhookPushBody, ""},
		{"gitlab good", gitlabHeaders("Push Hook", webhookSecret), gitlabPushBody, ProviderGitLab},
		{"gitlab wrong token", gitlabHeaders("Push Hook", "s3cre"), gitlabPushBody, ""},
		{"gitlab missing", webhookHeaders("X-Gitlab-Event", "Push Hook"), gitlabPushBody, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhook(tt.header, tt.body, webhookSecret)
			if tt.provider == "" {
				if !errors.Is(err, ErrSignature) {
					t.Fatalf("ParseWebhook = %+v, %v; want ErrSignature", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			want := *mainPush
			want.Provider = tt.provider
			if *got != want {
				t.Errorf("ParseWebhook = %+v; want %+v", *got, want)
			}
		})
	}
}

func TestParseWebhookEmptySecretAcceptsNothing(t *testing.T) {
	for name, h := range map[string]http.Header{
		"github": githubHeaders("push", webhookPushBody, ""),
		"gitea":  giteaHeaders("push", webhookPushBody, ""),
		"gitlab": gitlabHeaders("Push Hook", ""),
	} {
		if _, err := ParseWebhook(h, webhookPushBody, ""); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v; want ErrSignature", name, err)
		}
	}
}

// Gitea sends GitHub's headers too; it must be recognised as Gitea and either valid signature accepted.
func TestParseWebhookGiteaWithGitHubHeaders(t *testing.T) {
	good, bad := webhookSign(webhookPushBody, webhookSecret), webhookSign(webhookPushBody, "other")
	tests := []struct {
		name      string
		gitea     string // X-Gitea-Signature; empty: not sent
		hub       string // X-Hub-Signature-256 without its prefix; empty: not sent
		wantValid bool
	}{
		{"both good", good, good, true},
		{"only hub header", "", good, true},
		{"gitea good, hub bad", good, bad, true},
		{"gitea bad, hub good", bad, good, true},
		{"both bad", bad, bad, false},
		{"gitea bad, no hub", bad, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := webhookHeaders("X-Gitea-Event", "push", "X-GitHub-Event", "push", "X-Gogs-Event", "push")
			if tt.gitea != "" {
				h.Set("X-Gitea-Signature", tt.gitea)
			}
			if tt.hub != "" {
				h.Set("X-Hub-Signature-256", "sha256="+tt.hub)
			}
			got, err := ParseWebhook(h, webhookPushBody, webhookSecret)
			if !tt.wantValid {
				if !errors.Is(err, ErrSignature) {
					t.Fatalf("err = %v; want ErrSignature", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if got.Provider != ProviderGitea {
				t.Errorf("Provider = %q; want %q", got.Provider, ProviderGitea)
			}
		})
	}
}

func TestParseWebhookNotPush(t *testing.T) {
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
	}{
		{"github ping", githubHeaders("ping", ping, webhookSecret), ping},
		{"github pull_request", githubHeaders("pull_request", ping, webhookSecret), ping},
		{"gitea create", giteaHeaders("create", ping, webhookSecret), ping},
		{"gitlab merge request", gitlabHeaders("Merge Request Hook", webhookSecret), ping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseWebhook(tt.header, tt.body, webhookSecret); !errors.Is(err, ErrNotPush) {
				t.Errorf("err = %v; want ErrNotPush", err)
			}
		})
	}
	// An unverified ping must be refused, not acknowledged.
	if _, err := ParseWebhook(githubHeaders("ping", ping, "other"), ping, webhookSecret); !errors.Is(err, ErrSignature) {
		t.Errorf("unsigned ping: err = %v; want ErrSignature", err)
	}
}

func TestParseWebhookPushes(t *testing.T) {
	sha256Commit := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		gitlab bool // GitLab "Push Hook" (or "Tag Push Hook" for refs/tags/) instead of GitHub "push"
		body   string
		want   Push // Provider is filled in
	}{
		{"branch with slash", false, `{"ref":"refs/heads/feature/x","after":"` + webhookSHA + `"}`,
			Push{Ref: "refs/heads/feature/x", Branch: "feature/x", Commit: webhookSHA}},
		{"tag", false, `{"ref":"refs/tags/v1.2.0","after":"` + webhookSHA + `"}`,
			Push{Ref: "refs/tags/v1.2.0", Commit: webhookSHA}},
		{"sha256 repository", false, `{"ref":"refs/heads/main","after":"` + sha256Commit + `"}`,
			Push{Ref: "refs/heads/main", Branch: "main", Commit: sha256Commit}},
		{"deletion", false, `{"ref":"refs/heads/old","after":"` + webhookZeros + `","deleted":true}`,
			Push{Ref: "refs/heads/old", Branch: "old", Deleted: true}},
		{"gitlab tag", true, `{"ref":"refs/tags/v2","after":"` + webhookSHA + `","checkout_sha":"` + webhookSHA + `"}`,
			Push{Ref: "refs/tags/v2", Commit: webhookSHA}},
		{"gitlab checkout_sha wins", true, `{"ref":"refs/heads/main","after":"` + sha256Commit[:40] + `","checkout_sha":"` + webhookSHA + `"}`,
			Push{Ref: "refs/heads/main", Branch: "main", Commit: webhookSHA}},
		{"gitlab falls back to after", true, `{"ref":"refs/heads/main","after":"` + webhookSHA + `"}`,
			Push{Ref: "refs/heads/main", Branch: "main", Commit: webhookSHA}},
		{"gitlab deletion", true, `{"ref":"refs/heads/old","after":"` + webhookZeros + `","checkout_sha":null}`,
			Push{Ref: "refs/heads/old", Branch: "old", Deleted: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			h := githubHeaders("push", body, webhookSecret)
			tt.want.Provider = ProviderGitHub
			if tt.gitlab {
				event := "Push Hook"
				if strings.HasPrefix(tt.want.Ref, "refs/tags/") {
					event = "Tag Push Hook"
				}
				h = gitlabHeaders(event, webhookSecret)
				tt.want.Provider = ProviderGitLab
			}
			got, err := ParseWebhook(h, body, webhookSecret)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if *got != tt.want {
				t.Errorf("ParseWebhook = %+v; want %+v", *got, tt.want)
			}
		})
	}
}

// Bad payloads are ordinary errors (400): neither ErrSignature nor ErrNotPush.
func TestParseWebhookBadPayload(t *testing.T) {
	tests := []struct {
		name   string
		gitlab bool
		body   string
	}{
		{"malformed json", false, `{"ref":"refs/heads/main",`},
		{"json null", false, `null`},
		{"json array", false, `[]`},
		{"missing ref", false, `{"after":"` + webhookSHA + `"}`},
		{"missing after", false, `{"ref":"refs/heads/main"}`},
		{"short commit", false, `{"ref":"refs/heads/main","after":"0123456"}`},
		{"uppercase commit", false, `{"ref":"refs/heads/main","after":"` + strings.ToUpper(webhookSHA) + `"}`},
		{"non-hex commit", false, `{"ref":"refs/heads/main","after":"` + strings.Repeat("g", 40) + `"}`},
		{"commit not a string", false, `{"ref":"refs/heads/main","after":42}`},
		{"ref not full", false, `{"ref":"main","after":"` + webhookSHA + `"}`},
		{"ref with dot-dot", false, `{"ref":"refs/heads/../../etc","after":"` + webhookSHA + `"}`},
		{"ref like an option", false, `{"ref":"refs/heads/--upload-pack=x","after":"` + webhookSHA + `"}`},
		{"ref with space", false, `{"ref":"refs/heads/a b","after":"` + webhookSHA + `"}`},
		{"ref refs/heads/", false, `{"ref":"refs/heads/","after":"` + webhookSHA + `"}`},
		{"gitlab malformed json", true, `{`},
		{"gitlab missing commit", true, `{"ref":"refs/heads/main"}`},
		{"gitlab bad checkout_sha", true, `{"ref":"refs/heads/main","after":"` + webhookSHA + `","checkout_sha":"xyz"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			h := githubHeaders("push", body, webhookSecret)
			if tt.gitlab {
				h = gitlabHeaders("Push Hook", webhookSecret)
			}
			got, err := ParseWebhook(h, body, webhookSecret)
			if err == nil || errors.Is(err, ErrSignature) || errors.Is(err, ErrNotPush) {
				t.Fatalf("ParseWebhook = %+v, %v; want a payload error", got, err)
			}
		})
	}
}

// Verification comes before parsing: a bad signature on a malformed body is still ErrSignature.
func TestParseWebhookVerifiesBeforeParsing(t *testing.T) {
	body := []byte(`{not json`)
	if _, err := ParseWebhook(githubHeaders("push", body, "other"), body, webhookSecret); !errors.Is(err, ErrSignature) {
		t.Errorf("github: err = %v; want ErrSignature", err)
	}
	if _, err := ParseWebhook(gitlabHeaders("Push Hook", "other"), body, webhookSecret); !errors.Is(err, ErrSignature) {
		t.Errorf("gitlab: err = %v; want ErrSignature", err)
	}
}

func TestParseWebhookUnknownProvider(t *testing.T) {
	h := webhookHeaders("X-Bitbucket-Event", "repo:push")
	_, err := ParseWebhook(h, webhookPushBody, webhookSecret)
	if err == nil || errors.Is(err, ErrSignature) || errors.Is(err, ErrNotPush) {
		t.Fatalf("err = %v; want an unknown provider error", err)
	}
}

// webhookCheckPush checks what every accepted Push promises.
func webhookCheckPush(t *testing.T, p *Push) {
	t.Helper()
	if !strings.HasPrefix(p.Ref, "refs/") {
		t.Errorf("Ref %q does not start with refs/", p.Ref)
	}
	if p.Branch != "" && p.Ref != "refs/heads/"+p.Branch {
		t.Errorf("Branch %q does not match Ref %q", p.Branch, p.Ref)
	}
	if p.Deleted != (p.Commit == "") || (!p.Deleted && !isObjectName(p.Commit)) {
		t.Errorf("Commit %q with Deleted %v", p.Commit, p.Deleted)
	}
}

func webhookFuzzSeeds(f *testing.F, extra ...string) {
	for _, s := range append([]string{
		string(webhookPushBody), string(gitlabPushBody), "", "null", "{}", `{"ref":null,"after":null}`,
		`{"ref":"refs/heads/x","after":"` + webhookZeros + `","checkout_sha":null}`,
		`{"ref":"refs/tags/v1","after":"` + strings.Repeat("f", 64) + `"}`,
	}, extra...) {
		f.Add([]byte(s))
	}
}

func FuzzParseWebhookGitHub(f *testing.F) {
	webhookFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseWebhook(githubHeaders("push", body, webhookSecret), body, webhookSecret)
		if errors.Is(err, ErrSignature) {
			t.Fatalf("a correctly signed body was refused: %v", err)
		}
		if err == nil {
			webhookCheckPush(t, p)
		}
	})
}

func FuzzParseWebhookGitLab(f *testing.F) {
	webhookFuzzSeeds(f, `{"ref":"refs/heads/x","after":"`+webhookSHA+`","checkout_sha":""}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseWebhook(gitlabHeaders("Push Hook", webhookSecret), body, webhookSecret)
		if errors.Is(err, ErrSignature) {
			t.Fatalf("a request with the right token was refused: %v", err)
		}
		if err == nil {
			webhookCheckPush(t, p)
		}
	})
}
