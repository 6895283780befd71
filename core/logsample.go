package core

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// sampleInterval is the window of the rejection log's budget.
const sampleInterval = time.Second

// rejectionSampler keeps the rejection log bounded under a flood: in each
// second, the first lines of each reason and issuer are written in full,
// the rest are counted, and one summary line says how many of which were
// not written. Nothing is dropped silently, and the verdict hooks (metrics)
// see every rejection whether its line was written or not.
//
// The decision is a few atomic operations on a fixed table (reasons by
// issuers, both fixed sets: an untrusted issuer shares one row), with no
// allocation; a lock is taken only to close a window.
type rejectionSampler struct {
	budget  int64
	now     func() time.Time
	logger  *slog.Logger
	issuers map[string]int // row of each trusted issuer; the untrusted one is len(issuers)

	window     atomic.Int64   // start of the current window, unix nanoseconds
	written    []atomic.Int64 // lines written this window, by cell
	suppressed []atomic.Int64 // lines not written this window, by cell

	mu      sync.Mutex // closing a window, the timer
	timer   *time.Timer
	stopped bool
}

func newRejectionSampler(budget int, issuers []string, o *options) *rejectionSampler {
	if budget == 0 {
		return nil
	}
	s := &rejectionSampler{budget: int64(budget), now: o.now, logger: o.logger, issuers: make(map[string]int, len(issuers))}
	for i, is := range issuers {
		s.issuers[is] = i
	}
	cells := len(reasonTable) * (len(issuers) + 1)
	s.written, s.suppressed = make([]atomic.Int64, cells), make([]atomic.Int64, cells)
	return s
}

// allow reports whether the rejection's line is to be written.
func (s *rejectionSampler) allow(e *Error) bool {
	if s == nil {
		return true
	}
	switch e.Reason {
	case ReasonKeysUnavailable:
		// Never suppressed: it means the service cannot verify at all.
		return true
	}
	r := reasonIndex(e.Reason)
	if r < 0 {
		return true
	}
	row, ok := s.issuers[e.Issuer]
	if !ok {
		row = len(s.issuers)
	}
	cell := r*(len(s.issuers)+1) + row
	now := s.now().UnixNano()
	if now-s.window.Load() >= int64(sampleInterval) {
		s.rollover(now)
	}
	if s.written[cell].Add(1) <= s.budget {
		return true
	}
	s.suppressed[cell].Add(1)
	s.armTimer()
	return false
}

// rollover closes the window that now has left behind: its summary is
// written, and a new window starts.
func (s *rejectionSampler) rollover(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now-s.window.Load() < int64(sampleInterval) {
		return // another caller closed it
	}
	s.summarize()
	for i := range s.written {
		s.written[i].Store(0)
	}
	s.window.Store(now - now%int64(sampleInterval))
}

// armTimer makes sure the window's summary is written even if no rejection
// comes after it.
func (s *rejectionSampler) armTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil || s.stopped {
		return
	}
	end := time.Unix(0, s.window.Load()).Add(sampleInterval)
	s.timer = time.AfterFunc(max(end.Sub(s.now()), 0)+time.Millisecond, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.timer = nil
		if !s.stopped {
			s.summarize()
		}
	})
}

// summarized is one cell of a summary line.
type summarized struct {
	Reason string `json:"reason"`
	Issuer string `json:"iss,omitempty"`
	Count  int64  `json:"count"`
}

// summarize writes the line for the rejections not written since the last
// summary, if any. Callers hold s.mu.
func (s *rejectionSampler) summarize() {
	var out []summarized
	var total int64
	for cell := range s.suppressed {
		n := s.suppressed[cell].Swap(0)
		if n == 0 {
			continue
		}
		r, row := cell/(len(s.issuers)+1), cell%(len(s.issuers)+1)
		iss := "untrusted or unread"
		for name, i := range s.issuers {
			if i == row {
				iss = name
			}
		}
		out = append(out, summarized{Reason: string(reasonTable[r].Reason), Issuer: iss, Count: n})
		total += n
	}
	if total == 0 {
		return
	}
	start := time.Unix(0, s.window.Load())
	s.logger.LogAttrs(context.Background(), slog.LevelWarn, "jwt rejections not logged",
		slog.Time("window_start", start), slog.Duration("window", sampleInterval), slog.Int64("count", total),
		slog.Any("by_reason", out))
}

// stop writes what is pending and stops the timer.
func (s *rejectionSampler) stop() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.summarize()
}

func reasonIndex(r Reason) int {
	for i, info := range reasonTable {
		if info.Reason == r {
			return i
		}
	}
	return -1
}
