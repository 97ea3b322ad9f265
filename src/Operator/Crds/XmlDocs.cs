using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace ResilienceOperator.Crds;

/// <summary>Summaries from the Entities assembly's XML documentation: they become field descriptions.</summary>
internal sealed partial class XmlDocs
{
    private readonly Dictionary<string, string> _summaries = new(StringComparer.Ordinal);

    public XmlDocs(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"XML docs of {assembly.GetName().Name} not found at {path}; build with GenerateDocumentationFile");
        foreach (var member in XDocument.Load(path).Descendants("member"))
        {
            var name = member.Attribute("name")?.Value;
            var summary = member.Element("summary");
            if (name is null || summary is null) continue;
            var text = string.Concat(summary.Nodes().Select(n => n switch
            {
                XElement { Name.LocalName: "see" or "seealso" } e => e.Attribute("cref")?.Value.Split('.').Last() ?? e.Attribute("langword")?.Value ?? e.Value,
                XElement e => e.Value,
                _ => n.ToString(),
            }));
            _summaries[name] = Whitespace().Replace(System.Net.WebUtility.HtmlDecode(text), " ").Trim();
        }
    }

    public string? Of(PropertyInfo p) => _summaries.GetValueOrDefault($"P:{p.DeclaringType!.FullName}.{p.Name}");

    public string? Of(Type t) => _summaries.GetValueOrDefault($"T:{t.FullName}");

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
