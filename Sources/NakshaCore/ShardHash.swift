/// Which shard of a collection holds a vector: FNV-1a (64-bit) of the vector id's UTF-8
/// bytes, modulo the collection's shard count.
///
/// It is part of the data format: every coordinator, worker and client computes the same
/// shard for an id, in any language (FNV-1a: offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`, xor then multiply per byte), and it never changes for an existing
/// collection. `shard(of: "doc-1", shardCount: 8)` is 7.
public enum ShardHash {
    public static func shard(of id: String, shardCount: Int) -> Int {
        precondition(shardCount >= 1, "a collection has at least one shard")
        return Int(FNV1a.hash(id.utf8) % UInt64(shardCount))
    }
}
