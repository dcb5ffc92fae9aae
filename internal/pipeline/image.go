package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ImagesVar is the variable naming the file where a step that declares images writes what it pushed.
const ImagesVar = "FERRY_IMAGES"

// An image repository follows the grammar of the distribution reference (the one docker, containerd and
// Kubernetes use): an optional registry host[:port], then lower-case path components.
var (
	registryHost  = regexp.MustCompile(`^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(:[0-9]+)?$`)
	pathComponent = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	imageTag      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// digests are the algorithms an image may be pinned by, and the length of their hex.
	digests = map[string]int{"sha256": 64, "sha512": 128}
	hexLow  = regexp.MustCompile(`^[0-9a-f]+$`)
)

// maxRepository bounds the length of a repository name, as the distribution reference does.
const maxRepository = 255

// ImageRef is an image pinned by digest: "registry.example.com/shop@sha256:...".
type ImageRef struct {
	// Repository is as declared in the step's images, without tag or digest.
	Repository string
	// Digest is "sha256:" and 64 lower-case hex digits, or "sha512:" and 128.
	Digest string
}

// String returns the reference a cluster pulls: repository@digest.
func (r ImageRef) String() string { return r.Repository + "@" + r.Digest }

// ParseImageRef reads repository[:tag]@algorithm:hex. The tag, if any, is dropped: the digest alone says
// which image it is.
func ParseImageRef(s string) (ImageRef, error) {
	name, digest, pinned := strings.Cut(s, "@")
	if !pinned {
		return ImageRef{}, fmt.Errorf("image %q is not pinned by digest; write repository@sha256:<64 hex digits>", s)
	}
	if err := checkDigest(digest); err != nil {
		return ImageRef{}, fmt.Errorf("image %q: %w", s, err)
	}
	repo, tag := splitTag(name)
	if tag != "" && !imageTag.MatchString(tag) {
		return ImageRef{}, fmt.Errorf("image %q: invalid tag %q", s, tag)
	}
	if problem := repositoryProblem(repo); problem != "" {
		return ImageRef{}, fmt.Errorf("image %q: %s", s, problem)
	}
	return ImageRef{Repository: repo, Digest: digest}, nil
}

func checkDigest(d string) error {
	alg, hex, _ := strings.Cut(d, ":")
	n, ok := digests[alg]
	switch {
	case !ok:
		return fmt.Errorf("digest %q must start with sha256: or sha512:", d)
	case len(hex) != n || !hexLow.MatchString(hex):
		return fmt.Errorf("digest %q must have %d lower-case hex digits after %s:", d, n, alg)
	}
	return nil
}

// splitTag splits name into repository and tag; a colon before the last "/" is a registry's port.
func splitTag(name string) (repo, tag string) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 || strings.Contains(name[i:], "/") {
		return name, ""
	}
	return name[:i], name[i+1:]
}

// repositoryProblem says why s is no repository name, or returns "".
func repositoryProblem(s string) string {
	if len(s) > maxRepository {
		return fmt.Sprintf("a repository name has at most %d characters", maxRepository)
	}
	parts := strings.Split(s, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost" || parts[0] != strings.ToLower(parts[0])) {
		if !registryHost.MatchString(parts[0]) {
			return fmt.Sprintf("invalid registry %q: write a host name or address, with an optional :port", parts[0])
		}
		parts = parts[1:]
	}
	for _, c := range parts {
		switch {
		case c == "":
			return `a repository name has no empty parts: remove the extra "/"`
		case strings.ToLower(c) != c:
			return fmt.Sprintf("repository path %q must be lower case", c)
		case !pathComponent.MatchString(c):
			return fmt.Sprintf(`invalid repository path %q: use lower-case letters and digits, separated by ".", "_", "__" or "-"`, c)
		}
	}
	return ""
}

// images reads the repositories a step builds and pushes; each is declared once in the whole pipeline.
func (p *parser) images(n *yaml.Node, step string) []string {
	items, _ := p.Sequence(n, `"images"`)
	var repos []string
	for _, item := range items {
		s, ok := p.text(item, "each image")
		at := resolve(item)
		name, _, pinned := strings.Cut(s, "@")
		repo, tag := splitTag(name)
		switch {
		case !ok:
			continue
		case s == "":
			p.errorf(at, "image is empty; name the repository the step pushes, like registry.example.com/shop")
			continue
		case pinned:
			p.errorf(at, `image %q has a digest; name the repository only, like %s: the step reports the digest of each `+
				`push in $%s`, s, repo, ImagesVar)
			continue
		case tag != "" && repositoryProblem(repo) == "":
			p.errorf(at, `image %q has a tag; name the repository only, like %s: the release pins it by the digest the `+
				`step reports in $%s`, s, repo, ImagesVar)
			continue
		}
		if problem := repositoryProblem(s); problem != "" {
			p.errorf(at, "invalid image %s: %s", describe(at), problem)
			continue
		}
		if prev, dup := p.imageSteps[s]; dup {
			p.errorf(at, "image %q is declared again (first at line %d, step %q); one step builds each image", s,
				prev.at.Line, prev.step)
			continue
		}
		if p.imageSteps == nil {
			p.imageSteps = map[string]imageStep{}
		}
		p.imageSteps[s] = imageStep{step: step, at: at}
		repos = append(repos, s)
	}
	return repos
}

// imageStep is where an image is first declared.
type imageStep struct {
	step string
	at   *yaml.Node
}

// ReadImages reads data, the content of the file a step wrote at $FERRY_IMAGES, against declared, the
// step's Images. The file holds one image per line, pinned by digest (repository[:tag]@sha256:...), as
// `ko build`, `crane digest --full-ref` and `docker buildx` with a little jq print them; blank lines are
// skipped. Every declared repository must be there, each with one digest, and no other. The images are
// returned in the order of declared.
func ReadImages(data []byte, declared []string) ([]ImageRef, error) {
	got := map[string]ImageRef{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ref, err := ParseImageRef(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if !slices.Contains(declared, ref.Repository) {
			return nil, fmt.Errorf("line %d: image %s is not among the step's images (%s); add it to images", i+1,
				ref.Repository, strings.Join(declared, ", "))
		}
		if prev, ok := got[ref.Repository]; ok && prev != ref {
			return nil, fmt.Errorf("line %d: image %s has two digests, %s and %s; report the one the step pushed last",
				i+1, ref.Repository, prev.Digest, ref.Digest)
		}
		got[ref.Repository] = ref
	}
	refs := make([]ImageRef, 0, len(declared))
	for _, repo := range declared {
		ref, ok := got[repo]
		if !ok {
			return nil, fmt.Errorf("the step declares image %s but reported no digest for it; write %s@sha256:... to $%s",
				repo, repo, ImagesVar)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}
