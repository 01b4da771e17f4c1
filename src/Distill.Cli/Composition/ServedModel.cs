using Distill.Models.Llama;
using Distill.Server.Hosting;
using TorchSharp;

namespace Distill.Cli.Composition;

/// <summary>
/// A model folder loaded for serving: the folder (tokenizer, chat template, first copy of the weights) and the extra copies the
/// engine decodes on in parallel (<see cref="ServeOptions.DecodeWorkers"/>). Each copy is loaded from the folder, so all hold
/// the same weights.
/// </summary>
public sealed class ServedModel : IDisposable
{
    private readonly List<LlamaForCausalLM> _extraCopies;

    private ServedModel(ChatModelFolder folder, List<LlamaForCausalLM> extraCopies)
    {
        Folder = folder;
        _extraCopies = extraCopies;
    }

    public ChatModelFolder Folder { get; }

    /// <summary>Every copy of the weights, the folder's own first.</summary>
    public IReadOnlyList<LlamaForCausalLM> Replicas => [Folder.Model, .. _extraCopies];

    /// <param name="decodeWorkers">Serve:DecodeWorkers (0 = automatic for the device).</param>
    public static ServedModel Load(string dir, torch.Device device, int decodeWorkers, string? adapterDir = null)
    {
        var workers = ServeOptions.ResolveDecodeWorkers(decodeWorkers, onCpu: device.type == DeviceType.CPU);
        var folder = ChatModelFolder.Load(dir, device, adapterDir);
        var extra = new List<LlamaForCausalLM>();
        try
        {
            for (var i = 1; i < workers; i++)
            {
                extra.Add(ChatModelFolder.Load(dir, device, adapterDir).Model);
            }
        }
        catch
        {
            foreach (var model in extra) model.Dispose();
            folder.Dispose();
            throw;
        }
        return new ServedModel(folder, extra);
    }

    public void Dispose()
    {
        foreach (var model in _extraCopies) model.Dispose();
        Folder.Dispose();
    }
}
