import ChatCore
import Testing

@Suite struct JoinSequencerTests {
    @Test func holdsLiveMessagesUntilHistoryThenReleasesOnlyNewerOnes() {
        var sequencer = JoinSequencer<String>()
        #expect(sequencer.receive(seq: 4, payload: "m4") == .held)
        #expect(sequencer.receive(seq: 5, payload: "m5") == .held)
        #expect(sequencer.receive(seq: 6, payload: "m6") == .held)
        // History was read after m4 and m5 were published: they are in it.
        #expect(sequencer.historyPlayed(through: 5) == ["m6"])
        #expect(sequencer.isLive)
        #expect(sequencer.receive(seq: 6, payload: "m6") == .duplicate)
        #expect(sequencer.receive(seq: 7, payload: "m7") == .deliver)
    }

    @Test func emptyHistoryReleasesEverythingHeld() {
        var sequencer = JoinSequencer<Int>()
        _ = sequencer.receive(seq: 1, payload: 1)
        _ = sequencer.receive(seq: 2, payload: 2)
        #expect(sequencer.historyPlayed(through: nil) == [1, 2])
        #expect(sequencer.receive(seq: 2, payload: 2) == .duplicate)
        #expect(sequencer.receive(seq: 3, payload: 3) == .deliver)
    }

    @Test func historyNewerThanEverythingHeldReleasesNothing() {
        var sequencer = JoinSequencer<Int>()
        _ = sequencer.receive(seq: 9, payload: 9)
        #expect(sequencer.historyPlayed(through: 12) == [])
        #expect(sequencer.receive(seq: 12, payload: 12) == .duplicate)
        #expect(sequencer.receive(seq: 13, payload: 13) == .deliver)
    }

    @Test func duplicatesWhileHeldAreReleasedOnce() {
        var sequencer = JoinSequencer<Int>()
        _ = sequencer.receive(seq: 3, payload: 3)
        _ = sequencer.receive(seq: 3, payload: 3)
        #expect(sequencer.historyPlayed(through: 2) == [3])
    }

    @Test func aFloodBeforeHistoryOverflowsInsteadOfGrowing() {
        var sequencer = JoinSequencer<Int>(holdLimit: 2)
        #expect(sequencer.receive(seq: 1, payload: 1) == .held)
        #expect(sequencer.receive(seq: 2, payload: 2) == .held)
        #expect(sequencer.receive(seq: 3, payload: 3) == .overflow)
    }
}
