// Package ui is ferry's web dashboard: pages rendered on the server from html/template and inline SVG, embedded
// in the binary, with a little plain JavaScript for confirmations, live refresh and log following.
//
// The dashboard is a client of the HTTP API, in process: every page reads through the API and every button
// posts to it with the signed-in token, so the API's roles hold in the browser exactly as on the command line
// (a read-only token sees every page and every action answers 403).
//
// Sign-in keeps the token in a cookie that scripts cannot read (HttpOnly, SameSite=Strict, Secure over TLS,
// path /ui/). Every form also carries a CSRF field derived from the token, checked before anything is posted,
// sign-out included; and every POST a browser marks as cross-site (Sec-Fetch-Site, Origin) is refused, sign-in
// included.
package ui

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/ui/chart"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const cookieName = "ferry_session"

// Config is what the dashboard needs.
type Config struct {
	// API is the server's HTTP handler (/api/v1/...): the dashboard calls it in process with the signed-in token.
	API    http.Handler
	Logger *slog.Logger
}

// Dashboard serves the pages under /ui/.
type Dashboard struct {
	api     http.Handler
	handler http.Handler
	log     *slog.Logger
	pages   map[string]*template.Template
	csrfKey []byte
}

// New builds the dashboard.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	d := &Dashboard{api: cfg.API, log: cfg.Logger, pages: pages, csrfKey: key}
	d.handler = d.routes()
	return d, nil
}

// Mount returns the handler ferry serve listens with: the dashboard under /ui/, / redirecting to it, and
// everything else to api.
func Mount(api http.Handler, logger *slog.Logger) (http.Handler, error) {
	d, err := New(Config{API: api, Logger: logger})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	mux.Handle("/ui/", d)
	return mux, nil
}

// ServeHTTP routes the dashboard's pages.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.handler.ServeHTTP(w, r)
}

func (d *Dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /ui/chart.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		io.WriteString(w, chart.Stylesheet())
	})
	mux.HandleFunc("GET /ui/signin", d.signinPage)
	mux.HandleFunc("POST /ui/signin", d.signin)
	mux.HandleFunc("POST /ui/signout", d.signout)
	mux.Handle("GET /ui/{$}", d.session(d.projectsPage))
	mux.Handle("GET /ui/projects/{name}", d.session(d.projectPage))
	mux.Handle("GET /ui/projects/{name}/environments/{env}", d.session(d.environmentPage))
	mux.Handle("GET /ui/projects/{name}/environments/{env}/logs", d.session(d.envLogsPage))
	mux.Handle("POST /ui/projects/{name}/environments/{env}/{action}", d.session(d.environmentAction))
	mux.Handle("POST /ui/projects/{name}/environments/{env}/flags/{flag}/{op}", d.session(d.flagAction))
	mux.Handle("GET /ui/projects/{name}/dora", d.session(d.doraPage))
	mux.Handle("GET /ui/runs/{id}", d.session(d.runPage))
	mux.Handle("GET /ui/runs/{id}/events", d.session(d.runEvents))
	mux.Handle("GET /ui/runs/{id}/steps/{index}/cases/{case}", d.session(d.casePage))
	mux.Handle("GET /ui/audit", d.session(d.auditPage))
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page: "+r.URL.Path, http.StatusNotFound)
	})
	return securityHeaders(sameOrigin(mux))
}

// securityHeaders keeps pages from being framed or sniffed, and scripts and styles to ferry's own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// viewer is the signed-in token as a page needs it.
type viewer struct {
	Name     string
	Role     string
	token    string
	csrf     string
	readOnly bool
}

// CanAct reports whether the viewer's token may change anything.
func (v *viewer) CanAct() bool { return !v.readOnly }

// CSRF is the value forms carry in their csrf field.
func (v *viewer) CSRF() string { return v.csrf }

type pageHandler func(w http.ResponseWriter, r *http.Request, v *viewer)

// session checks the cookie's token with the API and hands the page its viewer; without a valid token the
// browser goes to the sign-in page and comes back after.
func (d *Dashboard) session(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil || c.Value == "" {
			d.toSignin(w, r)
			return
		}
		v := &viewer{token: c.Value}
		if err := d.whoami(r.Context(), v); err != nil {
			var ae *api.Error
			if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
				clearCookie(w, r)
				d.toSignin(w, r)
				return
			}
			d.fail(w, r, v, err)
			return
		}
		v.readOnly = v.Role != "admin"
		v.csrf = d.csrfFor(v.token)
		h(w, r, v)
	})
}

// whoami asks the API for the name and role of the viewer's token.
func (d *Dashboard) whoami(ctx context.Context, v *viewer) error {
	who, err := d.client(v).Whoami(ctx)
	if err != nil {
		return err
	}
	v.Name, v.Role = who.Name, who.Role
	return nil
}

func (d *Dashboard) toSignin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("Accept") == "text/event-stream" {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/ui/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

func (d *Dashboard) csrfFor(token string) string {
	m := hmac.New(sha256.New, d.csrfKey)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether the posted form carries the viewer's CSRF value.
func (d *Dashboard) checkCSRF(r *http.Request, v *viewer) bool {
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(v.csrf))
}

// safeNext keeps a redirect after sign-in inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

func (d *Dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, "signin", nil, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	v := &viewer{token: token}
	if token == "" {
		w.WriteHeader(http.StatusBadRequest)
		d.render(w, r, "signin", nil, map[string]any{"Next": next, "Error": "Paste a token: ferry serve prints the first one, `ferry token create` makes more."})
		return
	}
	if err := d.whoami(r.Context(), v); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		d.render(w, r, "signin", nil, map[string]any{"Next": next, "Error": "That token is not valid here."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/ui/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session. It is a POST carrying the session's CSRF value, so that no link or other site can
// sign a user out; the value is checked against the cookie's token without asking the API, so that a session
// whose token was revoked can still sign out.
func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
		return
	}
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(d.csrfFor(c.Value))) {
		http.Error(w, "sign-out refused: the form's CSRF value is missing or stale; reload the page and try again", http.StatusForbidden)
		return
	}
	clearCookie(w, r)
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/ui/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// render executes a page with the layout. data is the page's own; v is nil on the sign-in page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, page string, v *viewer, data any) {
	var buf bytes.Buffer
	err := d.pages[page].ExecuteTemplate(&buf, "layout", struct {
		Viewer *viewer
		Path   string
		Data   any
	}{v, r.URL.Path, data})
	if err != nil {
		d.log.Error("render page", "page", page, "err", err)
		http.Error(w, "render "+page+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// fail shows an API error as a page with the API's status code and reason.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	code := http.StatusBadGateway
	var ae *api.Error
	if errors.As(err, &ae) {
		code = ae.Status
	}
	w.WriteHeader(code)
	d.render(w, r, "error", v, map[string]any{"Status": code, "Text": http.StatusText(code), "Error": errorText(err)})
}

// client calls the API in process as the viewer.
func (d *Dashboard) client(v *viewer) *api.Client { return api.InProcess(d.api, v.token) }

// errorText is what an error page says: the API's reason alone, or the whole error.
func errorText(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}
