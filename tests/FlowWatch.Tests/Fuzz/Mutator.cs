namespace FlowWatch.Tests.Fuzz;

/// <summary>Seeded structure-blind mutations of byte inputs, the kind a broken or hostile peer sends.</summary>
/// <remarks>
/// Besides random flips and cuts it writes protobuf-shaped trouble on purpose: huge length prefixes,
/// overlong varints, wire types that do not match a field, so the decoder's bounds checks are reached
/// far more often than uniform noise would reach them.
/// </remarks>
public sealed class Mutator(Random random)
{
    private static readonly byte[][] Tokens =
    [
        [0xff, 0xff, 0xff, 0xff, 0x0f],                   // length prefix of 4 GiB
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varint longer than 10 bytes
        [0x0a, 0x80, 0x80, 0x80, 0x80, 0x08],             // field 1, length 2^31
        [0x0f], [0x0e], [0x0c], [0x0b],                   // wire types 7, 6, start/end group
        [0x00],                                           // field number 0
        [0xc2, 0x3e, 0x7f],                               // field 1000 (node_name) with a long length
    ];

    public byte[] Mutate(byte[] input, IReadOnlyList<byte[]> pool)
    {
        var data = new List<byte>(input);
        for (var n = random.Next(1, 5); n > 0; n--)
        {
            switch (random.Next(8))
            {
                case 0 when data.Count > 0:
                    data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[random.Next(data.Count)] = (byte)random.Next(256);
                    break;
                case 2 when data.Count > 1:
                    var keep = random.Next(data.Count);
                    data.RemoveRange(keep, data.Count - keep);
                    break;
                case 3 when data.Count > 2:
                    var from = random.Next(data.Count - 1);
                    data.RemoveRange(from, random.Next(1, Math.Min(16, data.Count - from)));
                    break;
                case 4:
                    data.InsertRange(random.Next(data.Count + 1), Tokens[random.Next(Tokens.Length)]);
                    break;
                case 5 when data.Count > 2:
                    var start = random.Next(data.Count - 1);
                    var chunk = data.GetRange(start, random.Next(1, Math.Min(64, data.Count - start)));
                    data.InsertRange(random.Next(data.Count + 1), chunk);
                    break;
                case 6 when pool.Count > 0:
                    // Splice: our prefix, another input's suffix.
                    var other = pool[random.Next(pool.Count)];
                    var at = random.Next(data.Count + 1);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(random.Next(other.Length + 1)).ToArray());
                    break;
                default:
                    var bytes = new byte[random.Next(1, 8)];
                    random.NextBytes(bytes);
                    data.InsertRange(random.Next(data.Count + 1), bytes);
                    break;
            }
        }
        return data.ToArray();
    }
}
