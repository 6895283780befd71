package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// NginxSite is the sample nginx config: a file for the http block (Debian
// reads /etc/nginx/conf.d/*.conf there).
const NginxSite = "nginx.conf"

// StartNginx runs nginx in the foreground in dir with site, the text of an
// http-block config (the sample, rendered), and waits until it listens on
// listen. Its main config is the run's own: no daemon, its pid, temp files
// and error log in dir or on stderr, and one worker.
func StartNginx(ctx context.Context, bin, dir, site, listen string) (*Process, error) {
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644); err != nil {
		return nil, err
	}
	// Run as root, nginx would switch its workers to nobody, who cannot
	// enter the run's directory; they stay root instead (a test process
	// on loopback). Run as anyone else, nginx keeps its own user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	// Connections are plenty, and kept for as many requests as a load
	// run sends: a connection nginx closes after its default 1,000
	// requests races the client's next request on it.
	main := user + fmt.Sprintf(`worker_processes 1;
worker_rlimit_nofile 16384;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir)
	conf := filepath.Join(dir, "nginx-main.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		return nil, err
	}
	p, err := Start("nginx", dir, nil, bin, "-p", dir, "-e", "stderr", "-c", conf, "-g", "daemon off;")
	if err != nil {
		return nil, err
	}
	if err := p.WaitListening(ctx, listen); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}
