// Command artifactbench measures storing and unpacking a large artifact with internal/artifact, one phase per
// process so that /usr/bin/time -v reports each phase's time and peak memory:
//
//	go build -o /tmp/artifactbench ./bench/artifactbench
//	/tmp/artifactbench gen /tmp/ab/model.bin 1024           # 1 GiB of incompressible bytes
//	/usr/bin/time -v /tmp/artifactbench collect /tmp/ab/store /tmp/ab model.bin   # prints the bundle digest
//	/usr/bin/time -v /tmp/artifactbench unpack /tmp/ab/store BUNDLE /tmp/ab/release
//
// collect is what a step's `artifacts: [model.bin]` does (hash and copy into the store, then the bundle);
// unpack is what a deployment does before it starts the release.
package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "artifactbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: gen FILE MIB | collect STORE ROOT PATH | unpack STORE BUNDLE DIR")
	}
	start := time.Now()
	defer func() { fmt.Fprintf(os.Stderr, "%s took %s\n", args[0], time.Since(start).Round(time.Millisecond)) }()
	switch {
	case args[0] == "gen" && len(args) == 3:
		mib, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		return gen(args[1], mib)
	case args[0] == "collect" && len(args) == 4:
		s := &artifact.Store{Dir: args[1]}
		files, err := s.Collect(args[2], []string{args[3]})
		if err != nil {
			return err
		}
		bundle, err := s.PutBundle(files, []byte("version: 1\n"))
		if err != nil {
			return err
		}
		fmt.Println(bundle)
		return nil
	case args[0] == "unpack" && len(args) == 4:
		return (&artifact.Store{Dir: args[1]}).Unpack(args[2], args[3])
	}
	return fmt.Errorf("unknown command or arguments: %q", args)
}

// gen writes mib MiB of pseudo-random bytes: a model file or an index does not compress, and neither does this.
func gen(path string, mib int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for range mib {
		r.Read(buf)
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
