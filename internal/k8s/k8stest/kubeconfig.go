package k8stest

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// restConfig is a client configuration for server, trusting caPEM, authenticated by a bearer token.
func restConfig(server string, caPEM []byte, token string) *rest.Config {
	return &rest.Config{
		Host:            server,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		// The defaults (5 requests/s, bursts of 10) slow tests that create many objects; this API server serves
		// only the test.
		QPS:   200,
		Burst: 400,
	}
}

// WriteKubeconfig writes a kubeconfig file with one cluster, one user and one context, all named context,
// which is also the current context.
func WriteKubeconfig(path, context string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[context] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[context] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts[context] = &clientcmdapi.Context{Cluster: context, AuthInfo: context, Namespace: "default"}
	kc.CurrentContext = context
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
