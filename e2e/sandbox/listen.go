package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// listenAPI opens the API server's listener on 127.0.0.1 at a free port and,
// when nodeAddress is set, on nodeAddress at the same port, both accepted
// through one net.Listener (the API server takes one). The second socket is
// bound with IP_FREEBIND: the address may appear later (the node's up.sh
// creates it on a veth when it starts).
func listenAPI(nodeAddress string) (net.Listener, error) {
	if nodeAddress == "" {
		return net.Listen("tcp", "127.0.0.1:0")
	}
	ip := net.ParseIP(nodeAddress)
	if ip == nil || ip.To4() == nil || ip.IsLoopback() {
		return nil, fmt.Errorf("--node-address %q: not a non-loopback IPv4 address", nodeAddress)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		lo, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := lo.Addr().(*net.TCPAddr).Port
		node, err := lc.Listen(nil, "tcp", net.JoinHostPort(nodeAddress, fmt.Sprint(port)))
		if err == nil {
			return newMultiListener(lo, node), nil
		}
		lo.Close()
		lastErr = err
	}
	return nil, fmt.Errorf("listen on %s: %w", nodeAddress, lastErr)
}

// multiListener accepts the connections of several listeners; Addr is the
// first one's (the port is the same on all).
type multiListener struct {
	ls        []net.Listener
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newMultiListener(ls ...net.Listener) *multiListener {
	m := &multiListener{ls: ls, conns: make(chan net.Conn), done: make(chan struct{})}
	for _, l := range ls {
		go m.serve(l)
	}
	return m
}

func (m *multiListener) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		select {
		case m.conns <- c:
		case <-m.done:
			c.Close()
			return
		}
	}
}

func (m *multiListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *multiListener) Close() error {
	var errs []error
	m.closeOnce.Do(func() {
		close(m.done)
		for _, l := range m.ls {
			errs = append(errs, l.Close())
		}
	})
	return errors.Join(errs...)
}

func (m *multiListener) Addr() net.Addr { return m.ls[0].Addr() }
