package runs

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/store"
)

const imageDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// kubePipeline builds an image (a digest written to $FERRY_IMAGES) and writes the manifests of a
// kubernetes environment into the checkout.
const kubePipeline = `version: 1
stages:
  - name: build
    steps:
      - name: image
        run: |
          mkdir -p deploy
          printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop}\n' > deploy/app.yaml
          echo "registry.example.com/shop:v1@` + imageDigest + `" > "$FERRY_IMAGES"
        images: [registry.example.com/shop]
environments:
  - name: production
    target: kubernetes
    kubernetes: {namespace: shop, manifests: deploy, workload: deployment/shop}
`

func TestReleaseRecordsImagesAndManifests(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RenderManifests = kubernetes.Render })
	sha := f.repo.commit(kubePipeline, "image")
	stop := f.start()
	r := f.waitEnd(f.enqueue(sha, "manual").ID)
	stop()
	if r.State != store.RunPassed {
		t.Fatalf("run %s %q\n%s", r.State, r.Reason, f.logText(r.ID))
	}
	rel, err := f.db.GetRelease(context.Background(), r.ReleaseID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"registry.example.com/shop@" + imageDigest}; !slices.Equal(rel.Images, want) {
		t.Errorf("release images %v, want %v", rel.Images, want)
	}
	digest := rel.Manifests["production"]
	if digest == "" {
		t.Fatalf("release manifests %v: none for production", rel.Manifests)
	}
	file, err := f.m.cfg.Artifacts.Open(digest)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	data, _ := io.ReadAll(file)
	if !strings.Contains(string(data), "kind: Deployment") {
		t.Errorf("stored manifests %q", data)
	}
}

func TestManifestsThatDoNotRenderFailTheRun(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RenderManifests = kubernetes.Render })
	sha := f.repo.commit(strings.Replace(kubePipeline, "mkdir -p deploy", "mkdir -p deploy; exit_=0", 1)+
		"  - name: staging\n    target: kubernetes\n    kubernetes: {namespace: shop, manifests: missing, workload: deployment/shop}\n", "bad")
	stop := f.start()
	r := f.waitEnd(f.enqueue(sha, "manual").ID)
	stop()
	if r.State != store.RunFailed || r.ReleaseID != 0 || !strings.Contains(r.Reason, "environment staging") {
		t.Errorf("run %s %q, release %d; want failed naming environment staging, no release", r.State, r.Reason, r.ReleaseID)
	}
}
