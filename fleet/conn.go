package fleet

import (
	"errors"
	"flag"
	"os"

	"github.com/nats-io/nats.go"
)

// ConnFlags are the command-line flags of a connection to the bus, shared
// by the services and the jwtguard command: -nats URL[,URL...], -nats-creds FILE,
// -nats-nkey FILE, -nats-ca FILE, -nats-cert FILE and -nats-key FILE.
type ConnFlags struct {
	URL, Creds, NKey, CA, Cert, Key string
}

// Register defines the flags on fs.
func (c *ConnFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "nats", os.Getenv("JWTGUARD_NATS"), "NATS `URL`s of the fleet bus, comma-separated (default $JWTGUARD_NATS; none: no bus)")
	fs.StringVar(&c.Creds, "nats-creds", "", "NATS credentials `file`")
	fs.StringVar(&c.NKey, "nats-nkey", "", "NATS nkey seed `file`")
	fs.StringVar(&c.CA, "nats-ca", "", "CA certificates `file` that the NATS servers' TLS certificates chain to")
	fs.StringVar(&c.Cert, "nats-cert", "", "client certificate `file` for NATS TLS (with -nats-key)")
	fs.StringVar(&c.Key, "nats-key", "", "client key `file` for NATS TLS (with -nats-cert)")
}

// Options returns the nats.go options the flags give.
func (c *ConnFlags) Options() ([]nats.Option, error) {
	var opts []nats.Option
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	if c.CA != "" {
		opts = append(opts, nats.RootCAs(c.CA))
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, errors.New("-nats-cert and -nats-key go together")
	}
	if c.Cert != "" {
		opts = append(opts, nats.ClientCert(c.Cert, c.Key))
	}
	return opts, nil
}
