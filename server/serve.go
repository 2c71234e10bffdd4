package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is Ollama's port, so Ollama's clients find Golem unchanged.
const DefaultPort = "11434"

// HostFromEnv returns the listen address from GOLEM_HOST, or OLLAMA_HOST
// when GOLEM_HOST is unset, parsed by ParseHost.
func HostFromEnv() string {
	v, ok := os.LookupEnv("GOLEM_HOST")
	if !ok {
		v = os.Getenv("OLLAMA_HOST")
	}
	return ParseHost(v)
}

// ParseHost turns a host setting into host:port the way Ollama reads
// OLLAMA_HOST: "" is 127.0.0.1:11434; "host" and "host:port" and ":port"
// are taken as they are (default port 11434); "http://host" defaults to
// port 80 and "https://host" to 443; a path after the host is ignored.
func ParseHost(s string) string {
	s = strings.TrimSpace(s)
	port := DefaultPort
	scheme, hostport, ok := strings.Cut(s, "://")
	if !ok {
		hostport = s
	} else {
		switch strings.ToLower(scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	hostport, _, _ = strings.Cut(hostport, "/")
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		host, p = "127.0.0.1", port
		if ip := net.ParseIP(strings.Trim(hostport, "[]")); ip != nil {
			host = ip.String()
		} else if hostport != "" {
			host = hostport
		}
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return net.JoinHostPort(host, p)
}

// Serve answers API requests on ln until ctx is cancelled, then stops
// accepting, lets running requests finish for up to 10 s and unloads the
// models.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(shutCtx)
	s.Close()
	if e := <-errc; err == nil && !errors.Is(e, http.ErrServerClosed) {
		err = e
	}
	return err
}
