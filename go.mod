module github.com/jwtguard/jwtguard

go 1.25.0

require (
	github.com/MicahParks/jwkset v0.11.3
	github.com/golang-jwt/jwt/v5 v5.3.1
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	golang.org/x/time v0.15.0 // indirect
)
