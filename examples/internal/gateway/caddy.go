package gateway

import (
	"context"
	"os"
	"path/filepath"
)

// Caddyfile is the sample Caddy config.
const Caddyfile = "Caddyfile"

// StartCaddy runs `caddy run` in dir with config, the text of a Caddyfile
// (the sample, rendered), and waits until it listens on listen. Caddy's
// home, data and config directories are in dir.
func StartCaddy(ctx context.Context, bin, dir, config, listen string) (*Process, error) {
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		return nil, err
	}
	env := []string{
		"HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}
	p, err := Start("caddy", dir, env, bin, "run", "--config", file, "--adapter", "caddyfile")
	if err != nil {
		return nil, err
	}
	if err := p.WaitListening(ctx, listen); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}
