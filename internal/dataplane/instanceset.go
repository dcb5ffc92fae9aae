package dataplane

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Set is the instances of one release in one environment.
type Set struct {
	Release string
	spec    InstanceSpec

	mu        sync.Mutex
	instances []*Instance
	notify    chan struct{} // closed and replaced at every change of any instance
}

// StartSet starts n instances of a release. logPrefix, when set, gives each instance the log file
// logPrefix-N.log.
func StartSet(release string, spec InstanceSpec, n int, logPrefix string) *Set {
	s := &Set{Release: release, spec: spec, notify: make(chan struct{})}
	for i := range n {
		sp := spec
		if logPrefix != "" {
			sp.LogPath = logPrefix + "-" + strconv.Itoa(i) + ".log"
		}
		in := &Instance{Spec: sp, OnChange: func(InstanceStatus) { s.changed() }}
		s.instances = append(s.instances, in)
	}
	for _, in := range s.instances {
		in.Start()
	}
	return s
}

func (s *Set) changed() {
	s.mu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// Changed returns a channel closed at the next change of any instance.
func (s *Set) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

// Statuses returns a snapshot of every instance.
func (s *Set) Statuses() []InstanceStatus {
	out := make([]InstanceStatus, len(s.instances))
	for i, in := range s.instances {
		out[i] = in.Status()
	}
	return out
}

// Healthy reports whether every instance passed its last health check.
func (s *Set) Healthy() bool {
	for _, st := range s.Statuses() {
		if st.State != InstanceHealthy {
			return false
		}
	}
	return len(s.instances) > 0
}

// Upstreams returns the addresses of the healthy instances, for the proxy.
func (s *Set) Upstreams() []string {
	var out []string
	for _, st := range s.Statuses() {
		if st.State == InstanceHealthy {
			out = append(out, "127.0.0.1:"+strconv.Itoa(st.Port))
		}
	}
	return out
}

// Restarts is the total number of restarts of the set's instances.
func (s *Set) Restarts() int {
	n := 0
	for _, st := range s.Statuses() {
		n += st.Restarts
	}
	return n
}

// WaitHealthy waits until every instance is healthy. It fails when an instance restarted more than
// maxRestarts times (a crash loop) or the timeout passes, saying which.
func (s *Set) WaitHealthy(timeout time.Duration, maxRestarts int) error {
	deadline := time.After(timeout)
	for {
		ch := s.Changed()
		if s.Healthy() {
			return nil
		}
		if n := s.Restarts(); n > maxRestarts {
			last := ""
			for _, st := range s.Statuses() {
				if st.LastExit != "" {
					last = st.LastExit
				}
			}
			return fmt.Errorf("release %s is crash-looping: %d restarts, last: %s", s.Release, n, last)
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("release %s did not become healthy within %s", s.Release, timeout)
		}
	}
}

// Stop stops every instance, in parallel.
func (s *Set) Stop(grace time.Duration) {
	var wg sync.WaitGroup
	for _, in := range s.instances {
		wg.Add(1)
		go func() { defer wg.Done(); in.Stop(grace) }()
	}
	wg.Wait()
}
