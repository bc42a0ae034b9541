// Command sandbox runs a local Kubernetes control plane on 127.0.0.1 in one
// process: embedded etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, all built from the pinned k8s.io/kubernetes release in
// go.mod. There is no node: pods stay Pending until something registers a
// Node (see e2e/README.md).
//
//	sandbox run --dir DIR [--node-name NAME] [--node-address IP] [--v N] [--faults SPEC]
//
// --node-address (or EXO_SANDBOX_NODE_ADDRESS) makes the API server listen on
// IP too, with the same port, and publish IP:port as the endpoint of the
// `kubernetes` Service: for a real node in a network namespace of its own
// (e2e/node/), whose pods reach the API at 10.96.0.1:443 through kube-proxy.
// IP may not exist yet when the sandbox starts (the node creates it).
//
// --faults (or EXO_SANDBOX_FAULTS, or DIR/faults at any time) makes the API
// server answer some requests of exo-install/exo-controller with errors
// (see faults.go).
// runs in the foreground until SIGTERM/SIGINT. e2e/sandbox/up.sh and
// down.sh wrap it. Once the API is ready and the controllers have created the
// default ServiceAccount, it writes DIR/ready (JSON, see readyInfo).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	basecompatibility "k8s.io/component-base/compatibility"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"

	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

const (
	serviceCIDR     = "10.96.0.0/16"
	kubernetesSvcIP = "10.96.0.1"
	clusterName     = "sandbox"
	tokenUser       = "sandbox-user"
	tokenGroup      = "sandbox:users"
)

// readyInfo is written to DIR/ready once the control plane is usable; DIR/env
// has the same facts as shell variables.
type readyInfo struct {
	PID                  int    `json:"pid"`
	Server               string `json:"server"`
	APIServerHost        string `json:"apiserverHost"`
	APIServerPort        int    `json:"apiserverPort"`
	EtcdClientURL        string `json:"etcdClientURL"`
	CAFile               string `json:"caFile"`
	CAKeyFile            string `json:"caKeyFile"`
	Kubeconfig           string `json:"kubeconfig"`
	KubeconfigToken      string `json:"kubeconfigToken"`
	KubeconfigNode       string `json:"kubeconfigNode"`
	NodeName             string `json:"nodeName"`
	NodeClientCert       string `json:"nodeClientCert"`
	NodeClientKey        string `json:"nodeClientKey"`
	KubeletServingCert   string `json:"kubeletServingCert"`
	KubeletServingKey    string `json:"kubeletServingKey"`
	ServiceCIDR          string `json:"serviceCIDR"`
	KubernetesSvcIP      string `json:"kubernetesServiceIP"`
	NodeAddress          string `json:"nodeAddress,omitempty"`
	ServiceAccountIssuer string `json:"serviceAccountIssuer"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	StartupSeconds       string `json:"startupSeconds"`
}

func (r readyInfo) env() string {
	var sb strings.Builder
	for _, kv := range [][2]string{
		{"SANDBOX_PID", strconv.Itoa(r.PID)},
		{"SANDBOX_SERVER", r.Server},
		{"SANDBOX_APISERVER_HOST", r.APIServerHost},
		{"SANDBOX_APISERVER_PORT", strconv.Itoa(r.APIServerPort)},
		{"SANDBOX_CA_FILE", r.CAFile},
		{"SANDBOX_CA_KEY_FILE", r.CAKeyFile},
		{"SANDBOX_KUBECONFIG", r.Kubeconfig},
		{"SANDBOX_KUBECONFIG_TOKEN", r.KubeconfigToken},
		{"SANDBOX_KUBECONFIG_NODE", r.KubeconfigNode},
		{"SANDBOX_NODE_NAME", r.NodeName},
		{"SANDBOX_NODE_CLIENT_CERT", r.NodeClientCert},
		{"SANDBOX_NODE_CLIENT_KEY", r.NodeClientKey},
		{"SANDBOX_KUBELET_SERVING_CERT", r.KubeletServingCert},
		{"SANDBOX_KUBELET_SERVING_KEY", r.KubeletServingKey},
		{"SANDBOX_SERVICE_CIDR", r.ServiceCIDR},
		{"SANDBOX_KUBERNETES_VERSION", r.KubernetesVersion},
		{"SANDBOX_NODE_ADDRESS", r.NodeAddress},
	} {
		fmt.Fprintf(&sb, "%s='%s'\n", kv[0], kv[1])
	}
	return sb.String()
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "run" {
		fmt.Fprintln(os.Stderr, "usage: sandbox run --dir DIR [--node-name NAME] [--node-address IP] [--v N] [--faults SPEC]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", "", "state directory (created if missing)")
	nodeName := fs.String("node-name", "sandbox-node", "node name the pre-made node credentials are for")
	nodeAddress := fs.String("node-address", os.Getenv("EXO_SANDBOX_NODE_ADDRESS"), "also serve the API on this IPv4 address, the kubernetes Service's endpoint (default $EXO_SANDBOX_NODE_ADDRESS; off)")
	verbosity := fs.Int("v", 0, "klog verbosity of all components")
	faults := fs.String("faults", os.Getenv("EXO_SANDBOX_FAULTS"), "fault injection for exo clients, e.g. rate=0.1,seed=7 (default $EXO_SANDBOX_FAULTS; off)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "--dir is required")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err == nil {
		err = run(abs, *nodeName, *nodeAddress, *verbosity, *faults)
	}
	if err != nil {
		klog.ErrorS(err, "sandbox failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

func run(dir, nodeName, nodeAddress string, verbosity int, faults string) error {
	start := time.Now()
	for _, d := range []string{dir, filepath.Join(dir, "pki"), filepath.Join(dir, "etcd")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(dir, "ready"))
	pidFile := filepath.Join(dir, "sandbox.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)

	fi, err := newFaultInjector(dir, faults)
	if err != nil {
		return err
	}

	// Options of all three components are made first (see controllerManager).
	kcm, err := newControllerManager()
	if err != nil {
		return fmt.Errorf("kube-controller-manager options: %w", err)
	}
	schedOpts := schedoptions.NewOptions()

	// ---- PKI ----------------------------------------------------------
	p, err := loadOrCreatePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	caFile := filepath.Join(p.dir, "ca.crt")
	certs := map[string][2]string{}
	for _, s := range []certSpec{
		{name: "apiserver", cn: "kube-apiserver", server: true,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(kubernetesSvcIP)}},
		{name: "admin", cn: "sandbox-admin", orgs: []string{"system:masters"}},
		{name: "controller-manager", cn: "system:kube-controller-manager"},
		{name: "scheduler", cn: "system:kube-scheduler"},
		{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}},
		{name: "node-" + nodeName, cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}},
		// For a kubelet that serves its API (logs, exec) to the API server,
		// which checks it against ca.crt (--kubelet-certificate-authority).
		{name: "kubelet-serving-" + nodeName, cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}, server: true,
			dns: []string{nodeName, "localhost"}, ips: []net.IP{net.ParseIP("127.0.0.1")}},
	} {
		c, k, err := p.ensure(s)
		if err != nil {
			return fmt.Errorf("cert %s: %w", s.name, err)
		}
		certs[s.name] = [2]string{c, k}
	}
	saKey, saPub, err := p.ensureServiceAccountKey()
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	tokenFile, tokens, err := p.ensureTokenFile([]staticToken{
		{user: tokenUser, uid: "sandbox-user-uid", groups: []string{tokenGroup}},
	})
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	var userToken string
	for _, t := range tokens {
		if t.user == tokenUser {
			userToken = t.token
		}
	}

	// ---- ports ----------------------------------------------------------
	// The API server gets an already-open listener (no race); etcd takes
	// URLs, so its ports are picked free just before it binds them.
	apiListener, err := listenAPI(nodeAddress)
	if err != nil {
		return err
	}
	apiPort := apiListener.Addr().(*net.TCPAddr).Port
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	// ---- kubeconfigs --------------------------------------------------------
	kcAdmin := filepath.Join(dir, "kubeconfig")
	kcToken := filepath.Join(dir, "kubeconfig-token")
	kcKCM := filepath.Join(dir, "kubeconfig-controller-manager")
	kcSched := filepath.Join(dir, "kubeconfig-scheduler")
	kcNode := filepath.Join(dir, "kubeconfig-node")
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	for _, k := range []struct {
		path, user, cert, token string
	}{
		{kcAdmin, "sandbox-admin", "admin", ""},
		{kcToken, tokenUser, "", userToken},
		{kcKCM, "system:kube-controller-manager", "controller-manager", ""},
		{kcSched, "system:kube-scheduler", "scheduler", ""},
		{kcNode, "system:node:" + nodeName, "node-" + nodeName, ""},
	} {
		if err := writeKubeconfig(k.path, server, ca, k.user, certs[k.cert], k.token); err != nil {
			return err
		}
	}

	// ---- logging ------------------------------------------------------------
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// fatal is how a component goroutine reports that it stopped by itself.
	fatal := make(chan error, 4)

	// ---- etcd ---------------------------------------------------------------
	etcdCfg := embed.NewConfig()
	etcdCfg.Name = "sandbox"
	etcdCfg.Dir = filepath.Join(dir, "etcd")
	etcdCfg.LogLevel = "warn"
	etcdCfg.LogOutputs = []string{"stderr"}
	// Only the etcd command's flag sets this default; left at 0, every
	// request is logged as "expensive".
	etcdCfg.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration
	var etcd *embed.Etcd
	var etcdClientURL string
	for attempt := 0; ; attempt++ {
		cport, err1 := freePort()
		pport, err2 := freePort()
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		etcdClientURL = fmt.Sprintf("http://127.0.0.1:%d", cport)
		peer := fmt.Sprintf("http://127.0.0.1:%d", pport)
		etcdCfg.ListenClientUrls = []url.URL{mustURL(etcdClientURL)}
		etcdCfg.AdvertiseClientUrls = etcdCfg.ListenClientUrls
		etcdCfg.ListenPeerUrls = []url.URL{mustURL(peer)}
		etcdCfg.AdvertisePeerUrls = etcdCfg.ListenPeerUrls
		etcdCfg.InitialCluster = etcdCfg.InitialClusterFromName(etcdCfg.Name)
		etcd, err = embed.StartEtcd(etcdCfg)
		if err == nil {
			break
		}
		if attempt >= 3 || !strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("etcd: %w", err)
		}
	}
	var closeEtcd sync.Once
	stopEtcd := func() { closeEtcd.Do(etcd.Close) }
	defer stopEtcd()
	select {
	case <-etcd.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		return errors.New("etcd: not ready after 60s")
	}
	go func() {
		if err, ok := <-etcd.Err(); ok && err != nil {
			fatal <- fmt.Errorf("etcd: %w", err)
		}
	}()
	klog.InfoS("sandbox: etcd ready", "url", etcdClientURL, "after", time.Since(start))

	// ---- kube-apiserver ------------------------------------------------------
	issuer := "https://kubernetes.default.svc.cluster.local"
	apiArgs := []string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--etcd-servers=" + etcdClientURL,
		"--service-cluster-ip-range=" + serviceCIDR,
		// The default "lease" reconciler writes the API server's address
		// into the kubernetes Endpoints, and validation rejects 127.0.0.1.
		"--endpoint-reconciler-type=none",
		"--advertise-address=127.0.0.1",
		"--tls-cert-file=" + certs["apiserver"][0],
		"--tls-private-key-file=" + certs["apiserver"][1],
		"--client-ca-file=" + caFile,
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=" + issuer,
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--authorization-mode=Node,RBAC",
		// Added to the default plugins (which include ServiceAccount,
		// PodSecurity, NamespaceLifecycle, LimitRanger, ResourceQuota, ...).
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--kubelet-client-certificate=" + certs["apiserver-kubelet-client"][0],
		"--kubelet-client-key=" + certs["apiserver-kubelet-client"][1],
		"--kubelet-certificate-authority=" + caFile,
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--profiling=false",
		"--v=" + strconv.Itoa(verbosity),
	}
	if nodeAddress != "" {
		// The "lease" reconciler (the API server's default) keeps the
		// kubernetes Service's endpoints at the advertised address and port.
		for i, a := range apiArgs {
			switch a {
			case "--endpoint-reconciler-type=none":
				apiArgs[i] = "--endpoint-reconciler-type=lease"
			case "--advertise-address=127.0.0.1":
				apiArgs[i] = "--advertise-address=" + nodeAddress
			}
		}
	}
	apiDone := make(chan struct{})
	go fi.run(ctx)
	if err := startAPIServer(ctx, apiArgs, apiListener, fi, apiDone, fatal); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}

	adminCfg, err := clientcmd.BuildConfigFromFlags("", kcAdmin)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, fatal, sigs, 90*time.Second, "API /readyz", func() (bool, error) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	}); err != nil {
		return err
	}
	klog.InfoS("sandbox: kube-apiserver ready", "server", server, "after", time.Since(start))

	// The token user gets its rights through RBAC (not system:masters).
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "sandbox-users-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: tokenGroup}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %s: %w", crb.Name, err)
	}

	// ---- kube-controller-manager ------------------------------------------------
	kcmArgs := []string{
		"--kubeconfig=" + kcKCM,
		"--authentication-kubeconfig=" + kcKCM,
		"--authorization-kubeconfig=" + kcKCM,
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + saKey,
		"--root-ca-file=" + caFile,
		"--cluster-signing-cert-file=" + caFile,
		"--cluster-signing-key-file=" + filepath.Join(p.dir, "ca.key"),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--controllers=*",
		"--v=" + strconv.Itoa(verbosity),
	}
	if err := kcm.start(ctx, kcmArgs, fatal); err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}

	// ---- kube-scheduler -------------------------------------------------------
	schedArgs := []string{
		"--kubeconfig=" + kcSched,
		"--authentication-kubeconfig=" + kcSched,
		"--authorization-kubeconfig=" + kcSched,
		"--secure-port=0",
		"--leader-elect=false",
		"--v=" + strconv.Itoa(verbosity),
	}
	if err := startScheduler(ctx, schedOpts, schedArgs, fatal); err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}

	// Pods can only be created once the serviceaccount controller has made
	// the namespace's "default" ServiceAccount: wait for it, so that a test
	// may create a Deployment as soon as DIR/ready exists.
	if err := waitFor(ctx, fatal, sigs, 60*time.Second, "default ServiceAccount", func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return err
	}

	info := readyInfo{
		PID: os.Getpid(), Server: server, APIServerHost: "127.0.0.1", APIServerPort: apiPort,
		EtcdClientURL: etcdClientURL,
		CAFile:        caFile, CAKeyFile: filepath.Join(p.dir, "ca.key"),
		Kubeconfig: kcAdmin, KubeconfigToken: kcToken, KubeconfigNode: kcNode,
		NodeName: nodeName, NodeClientCert: certs["node-"+nodeName][0], NodeClientKey: certs["node-"+nodeName][1],
		KubeletServingCert: certs["kubelet-serving-"+nodeName][0], KubeletServingKey: certs["kubelet-serving-"+nodeName][1],
		ServiceCIDR: serviceCIDR, KubernetesSvcIP: kubernetesSvcIP, ServiceAccountIssuer: issuer,
		KubernetesVersion: versionString(), NodeAddress: nodeAddress,
		StartupSeconds: fmt.Sprintf("%.1f", time.Since(start).Seconds()),
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(info.env()), 0o644); err != nil {
		return err
	}
	// DIR/ready appears atomically: whoever sees it may read it whole.
	if err := os.WriteFile(filepath.Join(dir, "ready.tmp"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, "ready.tmp"), filepath.Join(dir, "ready")); err != nil {
		return err
	}
	klog.InfoS("sandbox: control plane ready", "server", server, "after", time.Since(start))

	// ---- run until told to stop ---------------------------------------------
	var runErr error
	select {
	case s := <-sigs:
		klog.InfoS("sandbox: stopping", "signal", s)
	case runErr = <-fatal:
		klog.ErrorS(runErr, "sandbox: a component stopped; shutting down")
	}
	_ = os.Remove(filepath.Join(dir, "ready"))
	cancel()
	select {
	case <-apiDone:
	case <-time.After(20 * time.Second):
		klog.InfoS("sandbox: kube-apiserver did not stop within 20s")
	case <-sigs:
	}
	stopEtcd()
	klog.InfoS("sandbox: stopped")
	return runErr
}

// waitFor polls cond every 250ms until it is true, a component fails, a
// signal arrives or the timeout passes.
func waitFor(ctx context.Context, fatal chan error, sigs chan os.Signal, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok, err := cond(); err != nil {
			return err
		} else if ok {
			return nil
		}
		select {
		case err := <-fatal:
			return fmt.Errorf("waiting for %s: %w", what, err)
		case s := <-sigs:
			return fmt.Errorf("waiting for %s: got %v", what, s)
		case <-deadline:
			return fmt.Errorf("waiting for %s: timed out after %v", what, timeout)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func writeKubeconfig(path, server string, ca []byte, user string, cert [2]string, token string) error {
	ai := &clientcmdapi.AuthInfo{Token: token}
	if cert[0] != "" {
		c, err1 := os.ReadFile(cert[0])
		k, err2 := os.ReadFile(cert[1])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		ai.ClientCertificateData, ai.ClientKeyData = c, k
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = ai
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = clusterName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

func parseFlags(name string, fss interface{ FlagSetsList() []*pflag.FlagSet }, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	for _, f := range fss.FlagSetsList() {
		fs.AddFlagSet(f)
	}
	return fs.Parse(args)
}

// startAPIServer does what kube-apiserver's cobra command does (flags,
// Complete, Validate, Run) minus its process-wide signal handler, which may
// be set up only once per process, and with the fault injector fi inside the
// aggregator's handler chain (the outermost server: every request passes it
// once, after authentication).
func startAPIServer(ctx context.Context, args []string, l net.Listener, fi *faultInjector, done chan struct{}, fatal chan error) error {
	s := apiserveroptions.NewServerRunOptions()
	fss := s.Flags()
	if err := parseFlags("kube-apiserver", namedFlagSets(fss.FlagSets, fss.Order), args); err != nil {
		return err
	}
	s.SecureServing.Listener = l
	reg := s.GenericServerRunOptions.ComponentGlobalsRegistry
	if err := reg.Set(); err != nil {
		return err
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	// Logging is configured once for the process, from the API server's flags.
	if err := logsapi.ValidateAndApply(s.Logs, reg.FeatureGateFor(basecompatibility.DefaultKubeComponent)); err != nil {
		return err
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return utilerrors.NewAggregate(errs)
	}
	go func() {
		defer close(done)
		err := runAPIServer(ctx, completed, fi)
		if ctx.Err() == nil {
			fatal <- fmt.Errorf("kube-apiserver exited: %v", err)
		}
	}()
	return nil
}

// runAPIServer is apiserverapp.Run with fi wrapped around the API handler.
func runAPIServer(ctx context.Context, opts apiserveroptions.CompletedOptions, fi *faultInjector) error {
	config, err := apiserverapp.NewConfig(opts)
	if err != nil {
		return err
	}
	gc := config.Aggregator.GenericConfig
	chain := gc.BuildHandlerChainFunc
	gc.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return chain(fi.wrap(h), c)
	}
	completed, err := config.Complete()
	if err != nil {
		return err
	}
	server, err := apiserverapp.CreateServerChain(completed)
	if err != nil {
		return err
	}
	prepared, err := server.PrepareRun()
	if err != nil {
		return err
	}
	return prepared.Run(ctx)
}

// controllerManager holds kube-controller-manager's options. They are made
// before the API server's: KubeControllerManagerOptions.Flags() changes the
// process-wide default of the WatchListClient feature gate (as the real
// kube-controller-manager binary does), which is refused once any component
// has added the feature gates to a flag set.
type controllerManager struct {
	s               *kcmoptions.KubeControllerManagerOptions
	fss             flagSetList
	known, disabled []string
	aliases         map[string]string
}

func newControllerManager() (*controllerManager, error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	cm := &controllerManager{s: s, known: kcmapp.KnownControllers(), disabled: kcmapp.ControllersDisabledByDefault(), aliases: kcmapp.ControllerAliases()}
	fss := s.Flags(cm.known, cm.disabled, cm.aliases)
	s.ParsedFlags = &fss
	cm.fss = namedFlagSets(fss.FlagSets, fss.Order)
	return cm, nil
}

func (cm *controllerManager) start(ctx context.Context, args []string, fatal chan error) error {
	s := cm.s
	if err := parseFlags("kube-controller-manager", cm.fss, args); err != nil {
		return err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	c, err := s.Config(ctx, cm.known, cm.disabled, cm.aliases)
	if err != nil {
		return err
	}
	go func() {
		err := kcmapp.Run(ctx, c.Complete())
		if ctx.Err() == nil {
			fatal <- fmt.Errorf("kube-controller-manager exited: %v", err)
		}
	}()
	return nil
}

func startScheduler(ctx context.Context, opts *schedoptions.Options, args []string, fatal chan error) error {
	if err := parseFlags("kube-scheduler", namedFlagSets(opts.Flags.FlagSets, opts.Flags.Order), args); err != nil {
		return err
	}
	if err := opts.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	cc, sched, err := schedapp.Setup(ctx, opts)
	if err != nil {
		return err
	}
	go func() {
		err := schedapp.Run(ctx, cc, sched)
		if ctx.Err() == nil {
			fatal <- fmt.Errorf("kube-scheduler exited: %v", err)
		}
	}()
	return nil
}

type flagSetList []*pflag.FlagSet

func (l flagSetList) FlagSetsList() []*pflag.FlagSet { return l }

func namedFlagSets(m map[string]*pflag.FlagSet, order []string) flagSetList {
	var out flagSetList
	seen := map[string]bool{}
	for _, n := range order {
		if f, ok := m[n]; ok {
			out = append(out, f)
			seen[n] = true
		}
	}
	for n, f := range m {
		if !seen[n] {
			out = append(out, f)
		}
	}
	return out
}
