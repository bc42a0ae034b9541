package main

// A binary built by `go build` from the k8s.io/kubernetes module lacks the
// -ldflags -X settings that Kubernetes' own build (hack/lib/version.sh) puts
// into k8s.io/component-base/version, so /version would say
// "v0.0.0-master+$Format:%H$". Set those variables from the module version
// recorded in the binary's build info instead, before any component starts.

import (
	"runtime/debug"
	"strings"
	_ "unsafe" // go:linkname

	"k8s.io/component-base/version"
)

//go:linkname gitMajor k8s.io/component-base/version.gitMajor
var gitMajor string

//go:linkname gitMinor k8s.io/component-base/version.gitMinor
var gitMinor string

//go:linkname gitVersion k8s.io/component-base/version.gitVersion
var gitVersion string

//go:linkname gitTreeState k8s.io/component-base/version.gitTreeState
var gitTreeState string

func init() {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	for _, d := range bi.Deps {
		if d.Path != "k8s.io/kubernetes" {
			continue
		}
		v := d.Version // e.g. v1.34.4
		parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
		if len(parts) < 2 {
			return
		}
		gitMajor, gitMinor, gitVersion, gitTreeState = parts[0], parts[1], v, "clean"
		_ = version.SetDynamicVersion(v)
	}
}

func versionString() string { return version.Get().GitVersion }
