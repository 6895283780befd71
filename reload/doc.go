// Package reload keeps a [core.Verifier] on its baseline file as the file
// changes, without a restart: every replica of a service then verifies by
// the file it has, not by the file it had when it started.
//
// [Watch] follows the file through an editor's write-and-rename and through
// a Kubernetes ConfigMap's symlink swap (it watches the file's directory,
// with fsnotify), and reloads on SIGHUP too. Every change is parsed and
// validated in full: a valid baseline switches the verifier atomically
// ([core.Verifier.Reload]), an invalid one is logged with its keys and lines
// while the old one keeps serving. The service an estate file is read for
// is the one the verifier runs as ([core.Config.Service]).
//
//	w, err := reload.Watch(v, "/etc/jwtguard/baseline.yaml", reload.WithLogger(log))
//	if err != nil {
//		log.Error("baseline not watched", slog.String("error", err.Error()))
//	}
//	defer w.Close()
//
// It is its own module so that only services that watch a file get
// fsnotify in their go.mod.
package reload
