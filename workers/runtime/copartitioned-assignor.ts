import { AssignerProtocol, type PartitionAssigner } from "kafkajs";

/**
 * Gives each group member whole partition *numbers*: partition N of every
 * input topic goes to the same member. Workers whose inputs share a key
 * (clicks and checkouts by user_id, say) keep one state per key across
 * topics, so both topics' partition N must be folded by one process, one
 * chunk at a time (Kafka Streams' co-partitioning). kafkajs's round-robin
 * assigner spreads topic-partitions without that guarantee.
 */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: "CoPartitionedAssigner",
  version: 0,

  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>();
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const memberId = memberIds[partitionId % memberIds.length]!;
        const topicsOf = assignment.get(memberId) ?? {};
        (topicsOf[topic] ??= []).push(partitionId);
        assignment.set(memberId, topicsOf);
      }
    }
    return [...assignment].map(([memberId, topicsOf]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: this.version,
        assignment: topicsOf,
        userData: Buffer.alloc(0),
      }),
    }));
  },

  protocol({ topics }) {
    return {
      name: this.name,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: this.version, topics, userData: Buffer.alloc(0) }),
    };
  },
});
