package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Another site's page posts the sign-in form (login CSRF: the victim's browser would be signed in to the
// attacker's token and act under it): the browser's Sec-Fetch-Site or Origin gives it away and it is refused.
func TestCrossSiteSignInIsRefused(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site but other origin", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"foreign Origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"own Origin", map[string]string{"Origin": f.url}, http.StatusSeeOther},
		{"same-origin fetch metadata", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.url}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.browser()
			req, _ := http.NewRequest("POST", f.url+"/ui/signin", strings.NewReader(url.Values{"token": {f.admin}, "next": {"/ui/"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("POST /ui/signin with %v: %s, want %d", tt.headers, res.Status, tt.want)
			}
			signedIn := len(c.Jar.Cookies(mustURL(t, f.url+"/ui/"))) != 0
			if signedIn != (tt.want == http.StatusSeeOther) {
				t.Errorf("signed in = %v after %s", signedIn, res.Status)
			}
		})
	}
}

// A link or another site cannot sign a user out: sign-out is a POST that carries the session's CSRF value.
func TestSignOutNeedsPostAndCSRF(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.signin(c, f.admin)
	page := f.get(c, "/ui/", http.StatusOK)
	csrf := between(page, `name="csrf" value="`, `"`)
	if csrf == "" {
		t.Fatal("the page has no sign-out form with a CSRF value")
	}
	if res, err := c.Get(f.url + "/ui/signout"); err != nil || res.StatusCode == http.StatusSeeOther {
		t.Fatalf("GET /ui/signout: %v %v, want no sign-out", res.Status, err)
	}
	// A token one character off: its first character changed, to "1" when it already is "0".
	wrong := "0" + csrf[1:]
	if csrf[0] == '0' {
		wrong = "1" + csrf[1:]
	}
	for _, form := range []url.Values{nil, {"csrf": {wrong}}} {
		res, err := c.PostForm(f.url+"/ui/signout", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /ui/signout with %v: %s, want 403", form, res.Status)
		}
	}
	f.get(c, "/ui/", http.StatusOK) // still signed in
	res, err := c.PostForm(f.url+"/ui/signout", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /ui/signout with the CSRF value: %s, want 303", res.Status)
	}
	if res, _ := c.Get(f.url + "/ui/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign out: %s, want 303 to sign in", res.Status)
	}
}
