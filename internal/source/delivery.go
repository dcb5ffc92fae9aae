package source

import (
	"errors"
	"net/http"
)

// deliveryHeaders are where forges put a delivery's id, most specific first. GitLab's Idempotency-Key stays
// the same when GitLab retries a delivery, which X-Gitlab-Event-UUID is not documented to do; Gitea sends
// X-GitHub-Delivery beside its own header, with the same value.
var deliveryHeaders = []string{"X-GitHub-Delivery", "X-Gitea-Delivery", "Idempotency-Key", "X-Gitlab-Event-UUID"}

// MaxDeliveryID bounds the length of a delivery id; forges send UUIDs (36 characters).
const MaxDeliveryID = 128

// ErrDeliveryID means a webhook's delivery id header is too long or holds other than printable ASCII.
var ErrDeliveryID = errors.New("invalid delivery id: expected at most 128 printable ASCII characters")

// DeliveryID returns the id a forge gave a webhook delivery (X-GitHub-Delivery, X-Gitea-Delivery,
// Idempotency-Key or X-Gitlab-Event-UUID), or "" when the request carries none. A forge that sends a delivery
// again (a retry, or "Redeliver" in its settings) sends the same id. The headers are not signed: the id is
// only worth trusting once the body's signature was verified, and only to recognise a delivery seen before.
func DeliveryID(h http.Header) (string, error) {
	for _, name := range deliveryHeaders {
		id := h.Get(name)
		if id == "" {
			continue
		}
		if len(id) > MaxDeliveryID {
			return "", ErrDeliveryID
		}
		for i := 0; i < len(id); i++ {
			if id[i] <= ' ' || id[i] > '~' {
				return "", ErrDeliveryID
			}
		}
		return id, nil
	}
	return "", nil
}
