package contract

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
)

// GRPC runs the contract of the gRPC example against the server that start
// serves for v, at the target it returns:
//
//   - grpc.health.v1.Health/Check: SERVING without a token (liveness), and
//     for the service demo.Demo SERVING once the keys are in (readiness);
//   - demo.Demo/Whoami and WhoamiStream: the verified claims as a Struct;
//   - demo.Demo/Admin: only with the admin scope, else PermissionDenied;
//   - every rejection has the code and message of the verifier's response
//     and is logged as one line with its reason;
//   - GET /metrics on the same address: every metric of [MetricNames],
//     after the cases.
func GRPC(t *testing.T, start func(t testing.TB, v *core.Verifier, metrics http.Handler) string) {
	env := NewEnv(t)
	target := start(t, env.Verifier, env.Metrics)
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	defer t.Run("metrics", func(t *testing.T) { CheckMetrics(t, "http://"+target, env.Verifier) })
	methods := map[string][]string{
		"/healthz": {healthCheck},
		"/readyz":  {readyCheck},
		"/whoami":  {grpcapp.WhoamiMethod, grpcapp.WhoamiStreamMethod},
		"/admin":   {grpcapp.AdminMethod},
	}
	for _, c := range cases() {
		for _, method := range methods[c.route] {
			t.Run(strings.TrimPrefix(method, "/")+" "+c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var claims map[string]any
				if c.auth != nil {
					values := c.auth(env.IdP)
					for _, v := range values {
						ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
					}
					claims = payload(values[0])
				}
				env.Log.TakeReasons(t)
				got, err := call(ctx, conn, method)
				logged := env.Log.TakeReasons(t)

				if c.want == "" {
					if err != nil {
						t.Fatalf("call failed: %v", err)
					}
					if len(logged) > 0 {
						t.Errorf("accepted call logged rejections %v", logged)
					}
					if err := c.body(got, claims); err != nil {
						t.Error(err)
					}
					return
				}
				want := env.Verifier.Response(&core.Error{Reason: c.want, Scopes: c.scope})
				st := status.Convert(err)
				if st.Code() != codes.Code(want.GRPCCode) || st.Message() != want.GRPCMessage {
					t.Errorf("status %v %q, want %v %q", st.Code(), st.Message(), codes.Code(want.GRPCCode), want.GRPCMessage)
				}
				if !slices.Equal(logged, []core.Reason{c.want}) {
					t.Errorf("logged reasons %v, want one line with reason %s", logged, c.want)
				}
			})
		}
	}
}

const (
	healthCheck = "/grpc.health.v1.Health/Check"
	// readyCheck is Health/Check for the service demo.Demo: readiness.
	readyCheck = healthCheck + " demo.Demo"
)

// call calls method and returns its answer as JSON values. Health/Check
// answers {"status": "ok"} when it is SERVING, as /healthz does, and for
// demo.Demo {"status": "ready"}, as /readyz does.
func call(ctx context.Context, conn *grpc.ClientConn, method string) (map[string]any, error) {
	if method == healthCheck || method == readyCheck {
		service, up := "", "ok"
		if method == readyCheck {
			service, up = "demo.Demo", "ready"
		}
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return nil, err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return map[string]any{"status": resp.GetStatus().String()}, nil
		}
		return map[string]any{"status": up}, nil
	}
	s, err := grpcapp.Call(ctx, conn, method)
	if err != nil {
		return nil, err
	}
	return s.AsMap(), nil
}
