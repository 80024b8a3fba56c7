@testable import GatewayHost
import PluginABI
import XCTest

/// The chain's order of hooks, pauses, resumes, body buffering and failures, as events in and
/// actions out: no exchange, no plugin, no socket.
final class FilterChainTests: XCTestCase {
    typealias Hooks = FilterChain.Hooks
    let headersOnly = Hooks(requestHeaders: true, responseHeaders: true)
    let everything = Hooks(requestHeaders: true, requestBody: true, responseHeaders: true, responseBody: true)
    let none = Hooks()

    func testRequestHooksRunForwardAndSkipStagesWithoutTheHook() {
        var chain = FilterChain(filters: [headersOnly, none, headersOnly], handler: nil)
        XCTAssertEqual(chain.start(requestEnded: true), .callHook(.requestHeaders, stage: 0))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .callHook(.requestHeaders, stage: 2))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .startBackend)
        XCTAssertEqual(chain.request, .done)
    }

    func testResponseHooksRunBackwardThenTheResponseStreams() {
        var chain = FilterChain(filters: [headersOnly, headersOnly], handler: nil)
        _ = chain.start(requestEnded: true)
        _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .startBackend)
        XCTAssertEqual(chain.responseBegan(endOfStream: false, streamed: false), .callHook(.responseHeaders, stage: 1))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .callHook(.responseHeaders, stage: 0))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .streamResponse)
        XCTAssertTrue(chain.responseHeadersAreDone)
    }

    func testStopPausesUntilResumeAndTheNextStageRuns() {
        var chain = FilterChain(filters: [headersOnly, headersOnly], handler: nil)
        _ = chain.start(requestEnded: true)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_STOP, replied: false), .wait)
        XCTAssertEqual(chain.request, .paused(.requestHeaders, stage: 0))
        // From an event (outside any hook): at once.
        XCTAssertEqual(chain.resume(callingStage: 0, isInsideHook: false), .now(.callHook(.requestHeaders, stage: 1)))
    }

    func testResumeInsideAnotherHookWaitsForThatHookToReturn() {
        var chain = FilterChain(filters: [headersOnly, headersOnly], handler: nil)
        _ = chain.start(requestEnded: true)
        _ = chain.hookReturned(AGW_STATUS_STOP, replied: false)
        XCTAssertEqual(chain.resume(callingStage: 0, isInsideHook: true), .afterHook)
        XCTAssertTrue(chain.hasResumePending)
        XCTAssertEqual(chain.resumeAfterHook(), .callHook(.requestHeaders, stage: 1))
        XCTAssertFalse(chain.hasResumePending)
    }

    func testResumeInsideTheHookThatStopsPreemptsTheStop() {
        var chain = FilterChain(filters: [headersOnly, headersOnly], handler: nil)
        _ = chain.start(requestEnded: true)
        XCTAssertEqual(chain.resume(callingStage: 0, isInsideHook: true), .preempted)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_STOP, replied: false), .callHook(.requestHeaders, stage: 1))
        // The preemption is for that hook only: a later STOP pauses.
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_STOP, replied: false), .wait)
        XCTAssertEqual(chain.request, .paused(.requestHeaders, stage: 1))
    }

    func testResumeWithNothingPausedOrAfterTheEndIsRefused() {
        var chain = FilterChain(filters: [headersOnly], handler: nil)
        XCTAssertEqual(chain.resume(callingStage: -1, isInsideHook: false), .notPaused)
        _ = chain.start(requestEnded: true)
        XCTAssertEqual(chain.resume(callingStage: 3, isInsideHook: true), .notPaused, "another stage's hook is not the one running")
        chain.complete()
        XCTAssertEqual(chain.resume(callingStage: 0, isInsideHook: false), .gone)
    }

    func testTheRequestBodyIsBufferedOnlyForBodyHooksAndTheyRunAfterTheEnd() {
        var chain = FilterChain(filters: [everything, headersOnly], handler: nil)
        XCTAssertTrue(chain.buffersRequestBody)
        _ = chain.start(requestEnded: false)
        XCTAssertTrue(chain.keepsRequestBody)
        _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .wait)
        XCTAssertEqual(chain.request, .awaitingEnd)
        XCTAssertEqual(chain.requestDidEnd(), .callHook(.requestBody, stage: 0))
        XCTAssertTrue(chain.requestBodyIsReadable)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .startBackend)
        XCTAssertFalse(chain.requestBodyIsReadable, "a proxy route's body belongs to the backend now")
    }

    func testTheHandlerRunsLastAndItsHeaderHookComesBeforeTheBody() {
        let handler = Hooks(requestHeaders: true, requestBody: true)
        var chain = FilterChain(filters: [headersOnly], handler: handler)
        XCTAssertEqual(chain.handler, 1)
        XCTAssertEqual(chain.start(requestEnded: false), .callHook(.requestHeaders, stage: 0))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .callHook(.requestHeaders, stage: 1))
        // The handler may refuse now, before any body byte is read; here it waits for the body.
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .wait)
        XCTAssertEqual(chain.request, .awaitingEnd)
        XCTAssertEqual(chain.requestDidEnd(), .callHook(.requestBody, stage: 1))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .wait, "the handler answers; no backend")
        XCTAssertTrue(chain.requestBodyIsReadable, "the handler may still read the body in its events")
    }

    func testAHandlerWithoutBodyHooksGetsNoBufferedBody() {
        var chain = FilterChain(filters: [headersOnly], handler: Hooks(requestHeaders: true))
        XCTAssertFalse(chain.buffersRequestBody)
        _ = chain.start(requestEnded: false)
        XCTAssertFalse(chain.keepsRequestBody)
    }

    func testAHandlersStopMeansItAnswersLater() {
        var chain = FilterChain(filters: [], handler: Hooks(requestHeaders: true, requestBody: true))
        _ = chain.start(requestEnded: true)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_STOP, replied: false), .callHook(.requestBody, stage: 0))
    }

    func testAHandlerThatAnswersFromItsHeaderHookEndsTheRequestSide() {
        var chain = FilterChain(filters: [everything], handler: Hooks(requestHeaders: true))
        _ = chain.start(requestEnded: false)
        _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false) // the filter
        // Inside the handler's hook: respond_headers.
        XCTAssertTrue(chain.canBeginResponse)
        XCTAssertEqual(chain.responseBegan(endOfStream: false, streamed: true), .callHook(.responseHeaders, stage: 0))
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .streamResponse)
        // The handler's hook returns: no body hooks, no backend.
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_CONTINUE, replied: false), .wait)
        XCTAssertEqual(chain.request, .done)
        XCTAssertFalse(chain.keepsRequestBody)
        XCTAssertFalse(chain.canBeginResponse, "once")
    }

    func testAResponseIsBufferedForBodyHooksUnlessStreamedOrEmpty() {
        func chainAfterRequest() -> FilterChain {
            var chain = FilterChain(filters: [everything], handler: nil)
            _ = chain.start(requestEnded: true)
            _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false)
            _ = chain.requestDidEnd()
            _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false)
            return chain
        }
        var buffered = chainAfterRequest()
        _ = buffered.responseBegan(endOfStream: false, streamed: false)
        XCTAssertEqual(buffered.hookReturned(AGW_STATUS_CONTINUE, replied: false), .bufferResponse)
        XCTAssertTrue(buffered.isBufferingResponse)
        buffered.responseBodyArrived()
        XCTAssertEqual(buffered.responseDidEnd(), .callHook(.responseBody, stage: 0))
        XCTAssertTrue(buffered.responseBodyIsReadable)
        XCTAssertEqual(buffered.hookReturned(AGW_STATUS_CONTINUE, replied: false), .writeBufferedResponse)

        var streamed = chainAfterRequest()
        _ = streamed.responseBegan(endOfStream: false, streamed: true)
        XCTAssertEqual(streamed.hookReturned(AGW_STATUS_CONTINUE, replied: false), .streamResponse)

        var empty = chainAfterRequest()
        _ = empty.responseBegan(endOfStream: true, streamed: false)
        XCTAssertEqual(empty.hookReturned(AGW_STATUS_CONTINUE, replied: false), .streamResponse)
    }

    func testTheEndArrivingWhileResponseHeadersArePausedRunsTheBodyHooksOnResume() {
        var chain = FilterChain(filters: [everything], handler: nil)
        _ = chain.start(requestEnded: true)
        _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false)
        _ = chain.hookReturned(AGW_STATUS_CONTINUE, replied: false)
        _ = chain.responseBegan(endOfStream: false, streamed: false)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_STOP, replied: false), .wait)
        chain.responseBodyArrived()
        XCTAssertEqual(chain.responseDidEnd(), .wait, "the header hook is paused")
        XCTAssertEqual(chain.resume(callingStage: 0, isInsideHook: false), .now(.callHook(.responseBody, stage: 0)))
    }

    func testRepliedWithoutAReplyAndUnknownStatusesFailTheRequest() {
        var chain = FilterChain(filters: [headersOnly, headersOnly], handler: nil)
        _ = chain.start(requestEnded: true)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_REPLIED, replied: false), .fail(.repliedWithoutReply(stage: 0)))
        var other = FilterChain(filters: [headersOnly], handler: nil)
        _ = other.start(requestEnded: true)
        XCTAssertEqual(other.hookReturned(77, replied: false), .fail(.unknownStatus(stage: 0, status: 77)))
    }

    func testAReplyStopsTheChain() {
        var chain = FilterChain(filters: [headersOnly, headersOnly], handler: nil)
        _ = chain.start(requestEnded: true)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_REPLIED, replied: true), .wait)
        chain.complete()
        XCTAssertEqual(chain.requestDidEnd(), .wait)
        XCTAssertFalse(chain.keepsRequestBody)
        XCTAssertFalse(chain.canBeginResponse)
    }

    func testAHandlerMayReplyByBeginningTheResponse() {
        var chain = FilterChain(filters: [], handler: Hooks(requestHeaders: true))
        _ = chain.start(requestEnded: true)
        _ = chain.responseBegan(endOfStream: true, streamed: false)
        XCTAssertEqual(chain.hookReturned(AGW_STATUS_REPLIED, replied: false), .wait)
        var silent = FilterChain(filters: [], handler: Hooks(requestHeaders: true))
        _ = silent.start(requestEnded: true)
        XCTAssertEqual(silent.hookReturned(AGW_STATUS_REPLIED, replied: false), .fail(.repliedWithoutReply(stage: 0)))
    }
}
