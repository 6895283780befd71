module github.com/jwtguard/jwtguard/cmd/jwtguard

go 1.26.0

replace github.com/jwtguard/jwtguard => ../../

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
)

require (
	github.com/MicahParks/jwkset v0.11.3 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	golang.org/x/time v0.15.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
