using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Serialization;

namespace ResilienceOperator.Kubernetes;

/// <summary>
/// The file of <c>--kubeconfig</c>, read with a plain YAML deserializer into the client's own
/// model of it, then turned into a configuration by the client as usual (contexts, certificates,
/// tokens, exec plugins; relative paths from the file's folder). The client's own loader reads it
/// through its general YAML serializer, which first maps every type of the Kubernetes API: about
/// 5 MiB kept for the life of the process and 0.15–0.2 s of every start, for a file of a few fields.
/// </summary>
internal static class Kubeconfig
{
    public static KubernetesClientConfiguration Load(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists) throw new KubeConfigException($"kubeconfig file not found: {file.FullName}");
        var deserializer = new DeserializerBuilder().IgnoreUnmatchedProperties().Build();
        var model = deserializer.Deserialize<K8SConfiguration>(File.ReadAllText(file.FullName))
            ?? throw new KubeConfigException($"kubeconfig file is empty: {file.FullName}");
        model.FileName = file.FullName;
        return KubernetesClientConfiguration.BuildConfigFromConfigObject(model);
    }
}
