package runs

import (
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/source"
)

// PollError is the last error a project's poller met asking for its branch head or fetching it, and when.
type PollError struct {
	Message string
	At      time.Time
}

// pollErrors keeps each project's last poll error until a poll succeeds. They live in memory: the poller
// polls every project as soon as the server starts, so a restart forgets an error only until then.
type pollErrors struct {
	mu   sync.Mutex
	last map[string]PollError
}

// NotePoll records how a poll of project ended: err nil clears its error.
func (m *Manager) NotePoll(project string, err error) {
	m.polls.mu.Lock()
	defer m.polls.mu.Unlock()
	if err == nil {
		delete(m.polls.last, project)
		return
	}
	if m.polls.last == nil {
		m.polls.last = map[string]PollError{}
	}
	// One line: git's messages span several.
	msg := strings.Join(strings.Fields(strings.ReplaceAll(source.Redact(err.Error()), "\n", "; ")), " ")
	m.polls.last[project] = PollError{Message: msg, At: time.Now().UTC()}
}

// PollError returns the last error of project's poller, if its last poll failed.
func (m *Manager) PollError(project string) (PollError, bool) {
	m.polls.mu.Lock()
	defer m.polls.mu.Unlock()
	e, ok := m.polls.last[project]
	return e, ok
}
