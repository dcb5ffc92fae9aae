package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/untrusted"
)

// MaxCasesBytes bounds a step's cases file: promptfoo's JSON of a few thousand cases with their prompts and
// answers fits, and a step that writes without end costs the server nothing.
const MaxCasesBytes = 64 << 20

// casesSource says where a step's cases are: the file its `cases:` names in the checkout, or $FERRY_CASES.
type casesSource struct {
	declared  bool   // the step has a cases: key; zero cases is then an error
	workspace string // the checkout, for a named file
	file      string // relative to workspace; "" reads $FERRY_CASES
	ferryFile string // $FERRY_CASES
	format    evals.Format
}

func newCasesSource(job *Job, st *pipeline.Step, ferryFile string) casesSource {
	src := casesSource{workspace: job.Workspace, ferryFile: ferryFile}
	if c := st.Cases; c != nil {
		src.declared, src.file, src.format = true, filepath.FromSlash(c.File), c.Format
	}
	return src
}

// reset leaves $FERRY_CASES empty and removes the named file, so that an attempt is never judged on the cases
// of an earlier one, or on a file the commit brought. The named file is removed through the checkout's root:
// a symlinked folder on its path cannot lead the removal outside.
func (s casesSource) reset() error {
	if err := resetMetricsFile(s.ferryFile); err != nil {
		return err
	}
	if s.file == "" {
		return nil
	}
	root, err := os.OpenRoot(s.workspace)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(s.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s before the step: %w", filepath.ToSlash(s.file), err)
	}
	return nil
}

// read reads and parses the step's cases, masking secrets in what it keeps and in its errors. It returns nil
// and no error for a step that declared no cases and wrote none.
func (s casesSource) read(secrets []string) ([]evals.Case, error) {
	var data []byte
	var err error
	name := "$FERRY_CASES"
	if s.file != "" {
		name = filepath.ToSlash(s.file)
		data, err = untrusted.ReadFile(s.workspace, name, MaxCasesBytes)
	} else {
		data, err = untrusted.ReadFileNoSymlink(filepath.Dir(s.ferryFile), filepath.Base(s.ferryFile), MaxCasesBytes)
	}
	var tooLarge *untrusted.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist) && s.file != "":
		return nil, fmt.Errorf("cases file %s: the step did not write it", name)
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("$FERRY_CASES: the step removed the file; write the cases into it")
	case errors.Is(err, untrusted.ErrSymlink):
		return nil, errors.New("$FERRY_CASES: the step replaced the file with a symlink; write the cases into the file itself")
	case errors.Is(err, untrusted.ErrOutside):
		return nil, fmt.Errorf("cases file %s is a symlink out of the checkout", name)
	case errors.Is(err, untrusted.ErrNotRegular):
		return nil, fmt.Errorf("cases file %s is not a regular file", name)
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("cases file %s is %s", name, tooLarge)
	case err != nil:
		return nil, fmt.Errorf("read cases: %w", err)
	}
	if !s.declared && len(data) == 0 {
		return nil, nil
	}
	cs, err := evals.Parse(s.format, data)
	if err != nil {
		return nil, fmt.Errorf("cases file %s (%s): %s", name, s.format, maskSecrets(err.Error(), secrets))
	}
	if s.declared && len(cs) == 0 {
		return nil, fmt.Errorf("cases file %s (%s) holds no cases; the step must report at least one", name, s.format)
	}
	seen := make(map[string]bool, len(cs))
	for i := range cs {
		maskCase(&cs[i], secrets)
		if seen[cs[i].ID] {
			return nil, fmt.Errorf("cases file %s: case %d: its id holds the value of a secret, and is another case's once masked", name, i+1)
		}
		seen[cs[i].ID] = true
	}
	return cs, nil
}

// maskCase masks secret values in every text of c, as the log does: cases are shown to every reader.
func maskCase(c *evals.Case, secrets []string) {
	for _, p := range []*string{&c.ID, &c.Input, &c.Expected, &c.Output, &c.Reason} {
		*p = maskSecrets(*p, secrets)
	}
	for i := range c.Tags {
		c.Tags[i] = maskSecrets(c.Tags[i], secrets)
	}
	for k, v := range c.Scores {
		if m := maskSecrets(k, secrets); m != k {
			delete(c.Scores, k)
			c.Scores[m] = v
		}
	}
}
