package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/untrusted"
)

// maxImagesBytes bounds the file a step writes at $FERRY_IMAGES: a line per image.
const maxImagesBytes = 64 << 10

// readImages reads the images a step that declares some wrote at $FERRY_IMAGES, which must still be the
// regular file ferry created: every declared repository once, pinned by digest (pipeline.ReadImages).
func readImages(path string, declared []string) ([]string, error) {
	data, err := untrusted.ReadFileNoSymlink(filepath.Dir(path), filepath.Base(path), maxImagesBytes)
	var tooLarge *untrusted.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("the step removed the file; write the images it pushed into it")
	case errors.Is(err, untrusted.ErrSymlink):
		return nil, errors.New("the step replaced the file with a symlink; write the images into the file itself")
	case errors.Is(err, untrusted.ErrNotRegular):
		return nil, errors.New("the step replaced the file with something that is not a regular file")
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("the file is %s", tooLarge)
	case err != nil:
		return nil, fmt.Errorf("read images: %w", err)
	}
	refs, err := pipeline.ReadImages(data, declared)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return out, nil
}
