// Command coredns is CoreDNS with only the plugins the e2e node's cluster DNS
// uses (see e2e/node/Corefile.in). The stock main imports every plugin, and
// its dependencies (cloud SDKs, etcd, ...) would more than double the build;
// coremain.Run reads the Corefile and serves exactly as the real binary does.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which plugins handle a query (a subset of CoreDNS's own
// plugin.cfg order); a Corefile may name only these.
var directives = []string{"bind", "health", "ready", "log", "errors", "cache", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
