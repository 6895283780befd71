package reload

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/jwtguard/jwtguard/core"
)

// Result is one reload attempt, for [OnReload].
type Result struct {
	// Trigger is "file" (a change in the file's directory) or "signal".
	Trigger string
	// Changed is true when the verifier switched to a new baseline; a
	// change of the file that verifies alike (a comment) switches nothing.
	Changed bool
	// Fingerprint is the fingerprint the verifier runs on after the attempt.
	Fingerprint string
	// Err is why the file was refused; the old baseline keeps serving.
	Err error
}

// Option tunes a [Watcher].
type Option func(*config)

type config struct {
	logger   *slog.Logger
	signals  []os.Signal
	onReload func(Result)
}

// WithLogger sets where refused baselines are logged; the verifier logs
// the switches itself.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithSignals replaces SIGHUP as the signals that reload; none turns
// signals off.
func WithSignals(sigs ...os.Signal) Option { return func(c *config) { c.signals = sigs } }

// OnReload is called after each attempt, from the watcher's goroutine, for
// metrics and tests. It must return quickly.
func OnReload(f func(Result)) Option { return func(c *config) { c.onReload = f } }

// Watcher follows one baseline file for one verifier. Close stops it.
type Watcher struct {
	v       *core.Verifier
	path    string
	service string
	cfg     config
	fs      *fsnotify.Watcher
	sig     chan os.Signal
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// Watch starts following path for v. It watches path's directory, not the
// file: an editor replaces the file by renaming another over it, and a
// ConfigMap swaps a symlink in the directory; a watch on the old file would
// see neither.
func Watch(v *core.Verifier, path string, opts ...Option) (*Watcher, error) {
	w := &Watcher{v: v, path: path, service: v.Config().Service, done: make(chan struct{}),
		cfg: config{logger: slog.Default(), signals: []os.Signal{syscall.SIGHUP}}}
	for _, o := range opts {
		o(&w.cfg)
	}
	if w.cfg.logger == nil {
		w.cfg.logger = slog.New(slog.DiscardHandler)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := fw.Add(filepath.Dir(path)); err != nil {
		fw.Close()
		return nil, err
	}
	w.fs = fw
	w.sig = make(chan os.Signal, 1)
	if len(w.cfg.signals) > 0 {
		signal.Notify(w.sig, w.cfg.signals...)
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Close stops the watcher and waits for its goroutine.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		signal.Stop(w.sig)
		close(w.done)
		err = w.fs.Close()
		w.wg.Wait()
	})
	return err
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.done:
			return
		case <-w.sig:
			w.reload("signal")
		case _, ok := <-w.fs.Events:
			if !ok {
				return
			}
			// Any change in the directory is a reason to look: the file
			// itself, a rename over it, the ConfigMap's ..data link. A look
			// that finds the same baseline switches nothing.
			w.reload("file")
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.cfg.logger.Warn("jwtguard baseline watch error", slog.String("file", w.path), slog.String("error", err.Error()))
		}
	}
}

// reload reads and validates the file and switches the verifier when it
// verifies differently.
func (w *Watcher) reload(trigger string) {
	r := Result{Trigger: trigger}
	if fi, err := os.Stat(w.path); trigger == "file" && err == nil && fi.Size() == 0 {
		// A file written in place is truncated first: the content comes
		// with the next event.
		r.Fingerprint = w.v.Config().Fingerprint()
		w.report(r)
		return
	}
	cfg, err := core.LoadBaseline(w.path)
	if err == nil {
		cfg, err = cfg.ForService(w.service)
	}
	current := w.v.Config().Fingerprint()
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist) && trigger == "file":
		// Mid-swap: the file is gone for an instant, its replacement
		// comes with the next event.
		r.Fingerprint = current
		w.report(r)
		return
	case err != nil:
		r.Err = err
		w.logRefused(err)
	case cfg.Fingerprint() == current:
	default:
		if r.Err = w.v.Reload(cfg); r.Err == nil {
			r.Changed = true
		}
	}
	r.Fingerprint = w.v.Config().Fingerprint()
	w.report(r)
}

func (w *Watcher) report(r Result) {
	if w.cfg.onReload != nil {
		w.cfg.onReload(r)
	}
}

// logRefused logs one line per problem, each naming its key and line; the
// old baseline keeps serving.
func (w *Watcher) logRefused(err error) {
	problems := core.ConfigErrors(err)
	if len(problems) == 0 {
		w.cfg.logger.Error("jwtguard baseline reload refused", slog.String("file", w.path), slog.String("error", err.Error()))
		return
	}
	for _, p := range problems {
		w.cfg.logger.Error("jwtguard baseline reload refused", slog.String("file", w.path), slog.String("key", p.Key),
			slog.Int("line", p.Line), slog.String("problem", p.Msg))
	}
}
