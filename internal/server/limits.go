package server

// DefaultRunLogLimit is the step output a run's log keeps when Config.RunLogLimit is zero: far more than anyone
// reads, far less than a disk holds.
const DefaultRunLogLimit = 64 << 20

func (s *Server) runLogLimit() int64 {
	if s.cfg.RunLogLimit > 0 {
		return s.cfg.RunLogLimit
	}
	return DefaultRunLogLimit
}
