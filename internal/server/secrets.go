package server

import (
	"io"
	"net/http"
	"regexp"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (s *Server) listSecrets(r *http.Request, project string, _ none) ([]api.Secret, error) {
	list, err := s.store.ListSecrets(r.Context(), project)
	if err != nil {
		return nil, storeFailure(err, "secrets")
	}
	if list == nil {
		list = []store.Secret{}
	}
	return viewAll(list, viewSecret), nil
}

// handleSetSecret reads the secret's value as the raw body, not JSON: it is sealed as sent.
func (s *Server) handleSetSecret(w http.ResponseWriter, r *http.Request) {
	name, secret := r.PathValue("name"), r.PathValue("secret")
	if !secretNameRE.MatchString(secret) {
		writeError(w, http.StatusBadRequest, "invalid secret name %q: use letters, digits and '_', not starting with a digit", secret)
		return
	}
	if _, err := s.store.GetProject(r.Context(), name); err != nil {
		writeStoreError(w, err, "project "+name)
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "secret value too large (64 KiB at most)")
		return
	}
	if len(value) == 0 {
		writeError(w, http.StatusBadRequest, "secret value is empty")
		return
	}
	if err := s.store.SetSecret(r.Context(), name, secret, s.sealer.Seal(name, secret, value)); err != nil {
		writeStoreError(w, err, "secret "+secret)
		return
	}
	s.log.Info("secret set", "project", name, "secret", secret)
	s.audit(r, "secret.set", name, secret, "")
	writeJSON(w, http.StatusOK, api.SecretSet{Name: secret})
}

func (s *Server) deleteSecret(r *http.Request, _ none) (none, error) {
	name, secret := r.PathValue("name"), r.PathValue("secret")
	if err := s.store.DeleteSecret(r.Context(), name, secret); err != nil {
		return none{}, storeFailure(err, "secret "+secret)
	}
	s.audit(r, "secret.rm", name, secret, "")
	return none{}, nil
}
