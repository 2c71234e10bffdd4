package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Credential is how Golem authenticates to one registry host. Either
// Username and Password (sent as HTTP basic auth, or to a bearer-token
// service to obtain a token), or Token (a static bearer token, such as a
// Hugging Face access token or an API key of a registry behind an
// authenticating proxy).
//
// Credentials are only sent in answer to a challenge (a 401 response with
// WWW-Authenticate), never to other hosts (Go's HTTP client drops the
// Authorization header on redirects to another host, such as a CDN).
type Credential struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

func (c Credential) empty() bool { return c.Username == "" && c.Password == "" && c.Token == "" }

// Credentials maps a registry host, written as in model names (with its
// port, if any: "registry.example.com:5000"), to its credential. The key
// "*" applies to every host not listed.
type Credentials map[string]Credential

// lookup returns the credential for host.
func (cs Credentials) lookup(host string) (Credential, bool) {
	if c, ok := cs[host]; ok {
		return c, true
	}
	for h, c := range cs {
		if strings.EqualFold(h, host) {
			return c, true
		}
	}
	c, ok := cs["*"]
	return c, ok
}

// AuthFile returns the credentials file: $GOLEM_HOME/auth.json, or
// ~/.golem/auth.json when GOLEM_HOME is not set.
func AuthFile() (string, error) {
	if h := os.Getenv("GOLEM_HOME"); h != "" {
		return filepath.Join(h, "auth.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("registry: locate home directory (set GOLEM_HOME): %w", err)
	}
	return filepath.Join(home, ".golem", "auth.json"), nil
}

// LoadCredentials reads the registry credentials from the auth file (see
// [AuthFile]; a missing file is no error) and from the environment
// variable GOLEM_REGISTRY_AUTH, whose entries win. The file holds a JSON
// object mapping hosts to credentials:
//
//	{
//	  "registry.example.com": {"username": "me", "password": "secret"},
//	  "hf.co": {"token": "hf_..."},
//	  "*": {"token": "fallback"}
//	}
//
// GOLEM_REGISTRY_AUTH holds either such a JSON object, or "user:password"
// (basic credentials for every host), or a bare token (for every host).
func LoadCredentials() (Credentials, error) {
	cs := Credentials{}
	path, err := AuthFile()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("registry: read credentials: %w", err)
	default:
		if err := json.Unmarshal(b, &cs); err != nil {
			return nil, fmt.Errorf("registry: credentials file %s: %w", path, err)
		}
	}
	env, err := parseAuthEnv(os.Getenv("GOLEM_REGISTRY_AUTH"))
	if err != nil {
		return nil, err
	}
	for h, c := range env {
		cs[h] = c
	}
	return cs, nil
}

// parseAuthEnv parses the value of GOLEM_REGISTRY_AUTH (see LoadCredentials).
func parseAuthEnv(v string) (Credentials, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "{"):
		var cs Credentials
		if err := json.Unmarshal([]byte(v), &cs); err != nil {
			return nil, fmt.Errorf("registry: GOLEM_REGISTRY_AUTH: %w", err)
		}
		return cs, nil
	case strings.Contains(v, ":"):
		u, p, _ := strings.Cut(v, ":")
		return Credentials{"*": {Username: u, Password: p}}, nil
	default:
		return Credentials{"*": {Token: v}}, nil
	}
}

// challenge is a parsed WWW-Authenticate header.
type challenge struct {
	scheme string            // lower case: "bearer" or "basic"
	params map[string]string // realm, service, scope, ...
}

// parseChallenge parses the first challenge of a WWW-Authenticate header,
// such as `Bearer realm="https://auth.example/token",service="reg",
// scope="repository:ns/model:pull"`. Quoted values may contain commas.
func parseChallenge(h string) (challenge, bool) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	if scheme == "" {
		return challenge{}, false
	}
	c := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
	for rest = strings.TrimSpace(rest); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimSpace(rest[eq+1:])
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			val = b.String()
			rest = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val = strings.TrimSpace(rest[:end])
			rest = rest[end:]
		}
		c.params[key] = val
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
	}
	return c, true
}

// authorize answers the challenge of a 401 response from host and returns
// the Authorization header value to retry with. For a push the requested
// scope on the repository is widened to "pull,push".
func (c *Client) authorize(ctx context.Context, host, repoPath string, push bool, header string) (string, error) {
	ch, ok := parseChallenge(header)
	if !ok {
		return "", fmt.Errorf("registry: %s answered 401 without a usable WWW-Authenticate challenge", host)
	}
	cred, _ := c.credentials().lookup(host)
	switch ch.scheme {
	case "basic":
		if cred.Token != "" {
			return "Bearer " + cred.Token, nil
		}
		if cred.empty() {
			return "", fmt.Errorf("registry: %s requires a username and password (set GOLEM_REGISTRY_AUTH or add %q to the auth file)", host, host)
		}
		req, _ := http.NewRequest("GET", "http://x/", nil)
		req.SetBasicAuth(cred.Username, cred.Password)
		return req.Header.Get("Authorization"), nil
	case "bearer":
		realm := ch.params["realm"]
		if realm == "" {
			if cred.Token != "" {
				return "Bearer " + cred.Token, nil
			}
			return "", fmt.Errorf("registry: %s sent a bearer challenge without a realm", host)
		}
		scope := ch.params["scope"]
		if push {
			want := "repository:" + repoPath + ":"
			if scope == "" || strings.HasPrefix(scope, want) {
				scope = want + "pull,push"
			}
		}
		return c.fetchToken(ctx, host, realm, ch.params["service"], scope, cred)
	default:
		return "", fmt.Errorf("registry: %s asks for unsupported authentication scheme %q", host, ch.scheme)
	}
}

// tokenResponse is the answer of a bearer-token service (Docker token
// authentication spec; OAuth2 servers say access_token instead).
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
}

// fetchToken gets a bearer token from realm for service and scope, sending
// the credential (if any) to the token service.
func (c *Client) fetchToken(ctx context.Context, host, realm, service, scope string, cred Credential) (string, error) {
	u, err := url.Parse(realm)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("registry: %s: invalid token realm %q", host, realm)
	}
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	for _, s := range strings.Fields(scope) {
		q.Add("scope", s)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("registry: token request: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent())
	switch {
	case cred.Token != "":
		req.Header.Set("Authorization", "Bearer "+cred.Token)
	case !cred.empty():
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("registry: get token for %s from %s: %w", host, u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("registry: get token for %s: %w", host, err)
	}
	if resp.StatusCode != http.StatusOK {
		hint := ""
		if cred.empty() {
			hint = " (no credentials configured for this host: set GOLEM_REGISTRY_AUTH or use the auth file)"
		}
		return "", fmt.Errorf("registry: token service %s refused access to %s: %s%s", u.Host, scope, resp.Status, hint)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("registry: decode token from %s: %w", u.Host, err)
	}
	tok := tr.Token
	if tok == "" {
		tok = tr.AccessToken
	}
	if tok == "" {
		return "", fmt.Errorf("registry: token service %s returned no token", u.Host)
	}
	return "Bearer " + tok, nil
}
