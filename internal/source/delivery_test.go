package source

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestDeliveryID(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    string
		err     error
	}{
		{"none", map[string]string{"X-GitHub-Event": "push"}, "", nil},
		{"github", map[string]string{"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}, "72d3162e-cc78-11e3-81ab-4c9367dc0958", nil},
		{"gitea sends both", map[string]string{"X-Gitea-Delivery": "g-1", "X-GitHub-Delivery": "g-1"}, "g-1", nil},
		{"gitea", map[string]string{"X-Gitea-Delivery": "g-2"}, "g-2", nil},
		{"gitlab retry key first", map[string]string{"Idempotency-Key": "k-1", "X-Gitlab-Event-UUID": "u-1"}, "k-1", nil},
		{"gitlab uuid", map[string]string{"X-Gitlab-Event-UUID": "u-2"}, "u-2", nil},
		{"too long", map[string]string{"X-GitHub-Delivery": strings.Repeat("a", MaxDeliveryID+1)}, "", ErrDeliveryID},
		{"longest", map[string]string{"X-GitHub-Delivery": strings.Repeat("a", MaxDeliveryID)}, strings.Repeat("a", MaxDeliveryID), nil},
		{"space", map[string]string{"X-GitHub-Delivery": "a b"}, "", ErrDeliveryID},
		{"control", map[string]string{"X-GitHub-Delivery": "a\x1bb"}, "", ErrDeliveryID},
		{"non-ascii", map[string]string{"X-GitHub-Delivery": "é"}, "", ErrDeliveryID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got, err := DeliveryID(h)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("DeliveryID = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
