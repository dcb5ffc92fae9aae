package engine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func TestRunImages(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name   string
		run    string
		state  store.StepState
		images []string
		reason string
	}{
		{"a pinned image is recorded, its tag dropped", `echo "registry.example.com/shop:v1@` + digest + `" > "$FERRY_IMAGES"`,
			store.StepPassed, []string{"registry.example.com/shop@" + digest}, ""},
		{"no image reported fails the step", `true`, store.StepFailed, nil, "reported no digest"},
		{"an image not declared fails the step", `echo "registry.example.com/other@` + digest + `" > "$FERRY_IMAGES"`,
			store.StepFailed, nil, "not among the step's images"},
		{"a symlink instead of the file fails the step", `rm "$FERRY_IMAGES"; ln -s /etc/passwd "$FERRY_IMAGES"`,
			store.StepFailed, nil, "symlink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := step("image", tt.run)
			st.Images = []string{"registry.example.com/shop"}
			job, rec := testJob(t, stage("build", st))
			testEngine().Run(context.Background(), job)
			r := rec.result(t, "build/image")
			if r.State != tt.state || !slices.Equal(r.Images, tt.images) || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("step = %s %q, images %v; want %s with %q, images %v", r.State, r.Reason, r.Images, tt.state, tt.reason, tt.images)
			}
			if tt.state == store.StepFailed && !strings.Contains(r.Reason, "$FERRY_IMAGES") {
				t.Errorf("reason %q does not name $FERRY_IMAGES", r.Reason)
			}
		})
	}
}
