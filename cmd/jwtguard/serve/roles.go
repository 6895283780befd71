package serve

import (
	"errors"

	"github.com/jwtguard/jwtguard/core"
)

// requireRoles is the policy of a route's roles. This build's core has no
// roles policy, so a policy file naming roles is refused at start: a route
// that silently dropped its roles would admit every valid token.
func requireRoles(claimPath string, roles []string) (core.Policy, error) {
	return nil, errors.New("roles are not supported by this build of jwtguard (core has no RequireRoles); use scopes, or a build whose core has roles")
}
