package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFiles are the names kustomize takes for a kustomization.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Render renders the manifests at rel (slash-separated, inside the checkout at root) into one YAML stream:
// a folder with a kustomization through kustomize's Go API, a folder of YAML files (sorted by name, not
// recursive), or one file. The bytes are what ferry stores with the release and applies for it every time.
//
// Kustomize runs with its default load restrictions (files only from inside the kustomization's root) and
// without plugins or Helm; a remote base (a git URL) needs git on the server's PATH and makes the render
// depend on the network, so keep bases in the repository.
func Render(root, rel string) ([]byte, error) {
	if path.IsAbs(rel) || slices.Contains(strings.Split(rel, "/"), "..") {
		return nil, fmt.Errorf("render manifests %q: not a path inside the repository", rel)
	}
	dir := filepath.Join(root, filepath.FromSlash(rel))
	info, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("render manifests %s: %w", rel, err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("render manifests %s: a symlink; give the folder or file itself", rel)
	}
	if !info.IsDir() {
		return readManifest(dir, rel)
	}
	for _, k := range kustomizationFiles {
		if _, err := os.Stat(filepath.Join(dir, k)); err == nil {
			return kustomize(dir, rel)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("render manifests %s: %w", rel, err)
	}
	var out bytes.Buffer
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.Type().IsRegular() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		data, err := readManifest(filepath.Join(dir, e.Name()), path.Join(rel, e.Name()))
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("render manifests %s: no .yaml, .yml or .json file in the folder", rel)
	}
	return out.Bytes(), nil
}

func readManifest(file, rel string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("render manifests %s: %w", rel, err)
	}
	if _, err := ParseManifests(data); err != nil {
		return nil, fmt.Errorf("render manifests %s: %w", rel, err)
	}
	return data, nil
}

func kustomize(dir, rel string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("render manifests %s: kustomize: %w", rel, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("render manifests %s: kustomize: %w", rel, err)
	}
	if len(out) == 0 {
		return nil, errors.New("render manifests " + rel + ": the kustomization renders no object")
	}
	return out, nil
}
