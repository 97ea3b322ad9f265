using System.Globalization;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace ResilienceOperator.Tests.Tools;

/// <summary>
/// Runs the Argo CD customizations under config/argocd/resilience.dev/&lt;Kind&gt;/ with a real Lua
/// 5.1 interpreter, the object given as the global <c>obj</c>, the way Argo CD runs them.
/// </summary>
internal static class ArgoLua
{
    /// <summary>A fixed clock for scripts that name what they create by the time (os.date): 2026-11-23T10:15:30Z.</summary>
    public const long FixedUnixTime = 1795428930;

    public static string Root => Path.Combine(Tool.RepoRoot(), "config", "argocd", "resilience.dev");

    public static string KindDir(string kind) => Path.Combine(Root, kind);

    public static YamlNode LoadYaml(string path)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(path)));
        return yaml.Documents[0].RootNode;
    }

    /// <summary>Runs <paramref name="script"/> with <c>obj</c> = the YAML at <paramref name="inputPath"/>; <paramref name="epilogue"/> gets the script's result as <c>result</c> and writes the output.</summary>
    public static async Task<string> RunAsync(string dir, string inputPath, string script, string epilogue)
    {
        var file = Path.Combine(Path.GetTempPath(), $"argo-lua-{Guid.NewGuid():N}.lua");
        var lua = new StringBuilder();
        // os.date without a time uses the fixed clock, so names made from it are stable.
        lua.Append("local realDate = os.date\nos.date = function(f, t) return realDate(f, t or ").Append(FixedUnixTime.ToString(CultureInfo.InvariantCulture)).Append(") end\n");
        lua.Append("os.time = function(t) if t == nil then return ").Append(FixedUnixTime.ToString(CultureInfo.InvariantCulture)).Append(" end return nil end\n");
        lua.Append("obj = ");
        ToLua(LoadYaml(Path.Combine(dir, inputPath)), lua);
        lua.Append("\nlocal path = \"").Append(Escape(Path.Combine(dir, script))).Append("\"\n").Append(Sandbox).Append(epilogue).Append('\n');
        await File.WriteAllTextAsync(file, lua.ToString());
        try
        {
            var (code, output) = await Tool.RunAsync("lua5.1", dir, file);
            Assert.True(code == 0, output);
            return output;
        }
        finally { File.Delete(file); }
    }

    /// <summary>
    /// Runs the script at <c>path</c> as Argo CD does: only the base functions, the table library
    /// and a safe os (time, date; also through require("os")); no string library, not even as
    /// methods on strings. A script that needs more fails here as it would in Argo CD.
    /// </summary>
    private const string Sandbox = """
        local sandbox = {}
        for _, k in ipairs({"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawset",
                            "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION"}) do sandbox[k] = _G[k] end
        sandbox.table = table
        local safeOs = { time = os.time, date = os.date }
        sandbox.os = safeOs
        sandbox.require = function(name) if name == "os" then return safeOs end error("module " .. name .. " is not available in Argo CD") end
        sandbox.obj = obj
        local chunk = assert(loadfile(path))
        setfenv(chunk, sandbox)
        local stringMeta = getmetatable("")
        local stringIndex = stringMeta.__index
        stringMeta.__index = nil
        local ok, result = pcall(chunk)
        stringMeta.__index = stringIndex
        if not ok then error(result) end

        """;

    /// <summary>Lua that writes <c>result</c> as JSON (keys sorted; a table with keys 1..n is an array).</summary>
    public const string JsonEpilogue = """
        local function encode(v)
          local t = type(v)
          if t == "table" then
            local n = #v
            local count = 0
            for _ in pairs(v) do count = count + 1 end
            if n > 0 and n == count then
              local parts = {}
              for i = 1, n do parts[i] = encode(v[i]) end
              return "[" .. table.concat(parts, ",") .. "]"
            end
            local keys = {}
            for k in pairs(v) do keys[#keys + 1] = tostring(k) end
            table.sort(keys)
            local parts = {}
            for i, k in ipairs(keys) do parts[i] = string.format("%q", k) .. ":" .. encode(v[k]) end
            return "{" .. table.concat(parts, ",") .. "}"
          elseif t == "string" then
            return string.format("%q", v)
          elseif t == "number" then
            if v == math.floor(v) then return string.format("%d", v) end
            return tostring(v)
          elseif t == "boolean" then
            return tostring(v)
          end
          return "null"
        end
        io.write(encode(result))
        """;

    /// <summary>YAML as a Lua table constructor, numbers and booleans typed as Argo CD's JSON decoding gives them.</summary>
    public static void ToLua(YamlNode node, StringBuilder sb)
    {
        switch (node)
        {
            case YamlMappingNode map:
                sb.Append('{');
                foreach (var (k, v) in map.Children)
                {
                    sb.Append("[\"").Append(Escape(((YamlScalarNode)k).Value!)).Append("\"]=");
                    ToLua(v, sb);
                    sb.Append(',');
                }
                sb.Append('}');
                break;
            case YamlSequenceNode seq:
                sb.Append('{');
                foreach (var v in seq.Children) { ToLua(v, sb); sb.Append(','); }
                sb.Append('}');
                break;
            case YamlScalarNode s:
                var text = s.Value ?? "";
                var plain = s.Style == YamlDotNet.Core.ScalarStyle.Plain;
                if (plain && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) sb.Append(n.ToString(CultureInfo.InvariantCulture));
                else if (plain && text is "true" or "false") sb.Append(text);
                else sb.Append('"').Append(Escape(text)).Append('"');
                break;
        }
    }

    /// <summary>YAML as canonical JSON text: keys sorted, plain integers and booleans typed, everything else a string.</summary>
    public static string Canonical(YamlNode node)
    {
        var sb = new StringBuilder();
        void Walk(YamlNode n)
        {
            switch (n)
            {
                case YamlMappingNode map:
                    sb.Append('{');
                    var first = true;
                    foreach (var (k, v) in map.Children.OrderBy(kv => ((YamlScalarNode)kv.Key).Value, StringComparer.Ordinal))
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        sb.Append(System.Text.Json.JsonSerializer.Serialize(((YamlScalarNode)k).Value)).Append(':');
                        Walk(v);
                    }
                    sb.Append('}');
                    break;
                case YamlSequenceNode seq:
                    sb.Append('[');
                    for (var i = 0; i < seq.Children.Count; i++) { if (i > 0) sb.Append(','); Walk(seq.Children[i]); }
                    sb.Append(']');
                    break;
                case YamlScalarNode s:
                    var text = s.Value ?? "";
                    var plain = s.Style == YamlDotNet.Core.ScalarStyle.Plain;
                    if (plain && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) sb.Append(l.ToString(CultureInfo.InvariantCulture));
                    else if (plain && text is "true" or "false") sb.Append(text);
                    else sb.Append(System.Text.Json.JsonSerializer.Serialize(text));
                    break;
            }
        }
        Walk(node);
        return sb.ToString();
    }

    /// <summary>JSON text (from the Lua encoder) in the same canonical form.</summary>
    public static string CanonicalJson(string json)
    {
        var sb = new StringBuilder();
        void Walk(System.Text.Json.JsonElement e)
        {
            switch (e.ValueKind)
            {
                case System.Text.Json.JsonValueKind.Object:
                    sb.Append('{');
                    var first = true;
                    foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        sb.Append(System.Text.Json.JsonSerializer.Serialize(p.Name)).Append(':');
                        Walk(p.Value);
                    }
                    sb.Append('}');
                    break;
                case System.Text.Json.JsonValueKind.Array:
                    sb.Append('[');
                    var i = 0;
                    foreach (var item in e.EnumerateArray()) { if (i++ > 0) sb.Append(','); Walk(item); }
                    sb.Append(']');
                    break;
                case System.Text.Json.JsonValueKind.String:
                    sb.Append(System.Text.Json.JsonSerializer.Serialize(e.GetString()));
                    break;
                default:
                    sb.Append(e.GetRawText());
                    break;
            }
        }
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Walk(doc.RootElement);
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
