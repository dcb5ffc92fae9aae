package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

const (
	// maxWebhookBody bounds a webhook's body. Forges send push payloads of a few KiB to a few hundred; GitHub
	// lists at most 20 commits in one.
	maxWebhookBody = 5 << 20
	// deliveriesKept is how many delivery ids of each project are remembered. Forges resend a delivery within
	// minutes (retries) or when a human asks; a thousand covers both for any project ferry serves.
	deliveriesKept = 1000
)

// webhookRefused is the one answer to a webhook for a project that does not exist, that has no webhook secret,
// or whose signature does not match: the same status and body, so a caller cannot probe which projects exist.
const webhookRefused = "webhook refused: no such project, no webhook secret, or a signature that does not match"

func refuseWebhook(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, webhookRefused)
}

// handleWebhook verifies a forge's push and queues a run of its commit. The project is looked up before the
// body is read: for an unknown project or one without a secret nothing could verify it, so the body is never
// read. A delivery id seen before starts nothing.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.store.GetProject(ctx, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		refuseWebhook(w)
		return
	} else if err != nil {
		s.log.Error("webhook", "err", err)
		writeError(w, http.StatusInternalServerError, "webhook: the server cannot read its store")
		return
	}
	outcome := "bad"
	defer func() { s.webhooks.WithLabelValues(p.Name, outcome).Inc() }()
	if p.WebhookSecret == "" {
		outcome = "refused"
		refuseWebhook(w)
		return
	}
	if r.ContentLength > maxWebhookBody {
		writeError(w, http.StatusRequestEntityTooLarge, "webhook body of %d bytes is over the limit of %d", r.ContentLength, maxWebhookBody)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "webhook body is over the limit of %d bytes", maxWebhookBody)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The server's read timeout cut a body sent too slowly.
			writeError(w, http.StatusRequestTimeout, "webhook body not received within the server's read timeout")
		default:
			writeError(w, http.StatusBadRequest, "read webhook body: %v", err)
		}
		return
	}
	push, err := source.ParseWebhook(r.Header, body, p.WebhookSecret)
	switch {
	case errors.Is(err, source.ErrSignature):
		outcome = "refused"
		s.log.Warn("webhook refused", "project", p.Name, "err", err)
		refuseWebhook(w)
		return
	case errors.Is(err, source.ErrNotPush):
		outcome = "ignored"
		writeJSON(w, http.StatusAccepted, api.WebhookAnswer{Status: "ignored", Reason: err.Error()})
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	delivery, err := source.DeliveryID(r.Header)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if delivery != "" {
		// Claimed before acting, so two copies of a delivery arriving together start one run at most.
		fresh, err := s.store.AddDelivery(ctx, p.Name, delivery, time.Now().UTC(), deliveriesKept)
		if err != nil {
			s.log.Error("record webhook delivery", "project", p.Name, "err", err)
			writeError(w, http.StatusInternalServerError, "webhook: record delivery: the server cannot write its store")
			return
		}
		if !fresh {
			outcome = "duplicate"
			s.log.Info("webhook delivery sent again", "project", p.Name, "delivery", delivery)
			writeJSON(w, http.StatusOK, api.WebhookAnswer{Status: "duplicate",
				Reason: fmt.Sprintf("duplicate delivery %s: it was received before; nothing started", delivery)})
			return
		}
	}
	if push.Branch != p.Branch || push.Deleted {
		outcome = "ignored"
		writeJSON(w, http.StatusAccepted, api.WebhookAnswer{Status: "ignored",
			Reason: fmt.Sprintf("push to %s; project follows %s", push.Ref, p.Branch)})
		return
	}
	run, ignored, err := s.runs.NoteHead(ctx, p, push.Commit, "webhook")
	if err != nil {
		if delivery != "" {
			// Nothing was done: the forge's retry of this delivery must be acted on.
			if err := s.store.RemoveDelivery(context.WithoutCancel(ctx), p.Name, delivery); err != nil {
				s.log.Error("forget webhook delivery", "project", p.Name, "err", err)
			}
		}
		writeError(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	if run == nil {
		outcome = "ignored"
		writeJSON(w, http.StatusAccepted, api.WebhookAnswer{Status: "ignored", Reason: ignored})
		return
	}
	outcome = "queued"
	writeJSON(w, http.StatusAccepted, api.WebhookAnswer{Status: "queued", Run: viewRun(run)})
}
