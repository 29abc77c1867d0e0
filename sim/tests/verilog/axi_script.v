// Scripted AXI4 manager: writes 6 bursts (AW and W run independently, W may lead),
// waits for all B, then reads the same bursts back and checks the strobed bytes.
// Beat g of the script carries byte value (8*g + lane) in every lane.
`default_nettype none
/* verilator lint_off UNUSEDSIGNAL */
module axi_script (
    input  wire        clk,
    input  wire        rst,
    input  wire        stall,
    output wire [3:0]  m_axi_awid,
    output wire [63:0] m_axi_awaddr,
    output wire [7:0]  m_axi_awlen,
    output wire [2:0]  m_axi_awsize,
    output wire [1:0]  m_axi_awburst,
    output wire        m_axi_awvalid,
    input  wire        m_axi_awready,
    output reg  [63:0] m_axi_wdata,
    output wire [7:0]  m_axi_wstrb,
    output wire        m_axi_wlast,
    output wire        m_axi_wvalid,
    input  wire        m_axi_wready,
    input  wire [3:0]  m_axi_bid,
    input  wire [1:0]  m_axi_bresp,
    input  wire        m_axi_bvalid,
    output wire        m_axi_bready,
    output wire [3:0]  m_axi_arid,
    output wire [63:0] m_axi_araddr,
    output wire [7:0]  m_axi_arlen,
    output wire [2:0]  m_axi_arsize,
    output wire [1:0]  m_axi_arburst,
    output wire        m_axi_arvalid,
    input  wire        m_axi_arready,
    input  wire [3:0]  m_axi_rid,
    input  wire [63:0] m_axi_rdata,
    input  wire [1:0]  m_axi_rresp,
    input  wire        m_axi_rlast,
    input  wire        m_axi_rvalid,
    output wire        m_axi_rready,
    output wire        done,
    output reg  [7:0]  errors
);
    localparam NB = 6;
    localparam NW = 27;
    reg [2:0] aw_i, ar_i, b_i, rb_i;
    reg [4:0] w_g, r_g;
    // Burst script, looked up by index.
    reg [3:0] a_id; reg [63:0] a_addr; reg [7:0] a_len; reg [2:0] a_size;
    reg [2:0] a_sel;
    always @* begin
        a_id = 4'd0; a_addr = 64'd0; a_len = 8'd0; a_size = 3'd0;
        case (a_sel)
            3'd0: begin a_id = 4'd1; a_addr = 64'h0000000000001000; a_len = 8'd3; a_size = 3'd3; end
            3'd1: begin a_id = 4'd2; a_addr = 64'h0000000000002004; a_len = 8'd1; a_size = 3'd2; end
            3'd2: begin a_id = 4'd1; a_addr = 64'h0000000000002ff8; a_len = 8'd0; a_size = 3'd3; end
            3'd3: begin a_id = 4'd3; a_addr = 64'h0000000000003000; a_len = 8'd15; a_size = 3'd3; end
            3'd4: begin a_id = 4'd2; a_addr = 64'h0000001000000ff0; a_len = 8'd1; a_size = 3'd3; end
            3'd5: begin a_id = 4'd0; a_addr = 64'h0000000000004003; a_len = 8'd1; a_size = 3'd3; end
            default: ;
        endcase
    end
    // Beat script: strobes and last flag by global beat number.
    reg [7:0] g_strb; reg g_last; reg [4:0] g_sel;
    always @* begin
        g_strb = 8'h00; g_last = 1'b0;
        case (g_sel)
            5'd0: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd1: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd2: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd3: begin g_strb = 8'hff; g_last = 1'b1; end
            5'd4: begin g_strb = 8'hf0; g_last = 1'b0; end
            5'd5: begin g_strb = 8'h0f; g_last = 1'b1; end
            5'd6: begin g_strb = 8'h0f; g_last = 1'b1; end
            5'd7: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd8: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd9: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd10: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd11: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd12: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd13: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd14: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd15: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd16: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd17: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd18: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd19: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd20: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd21: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd22: begin g_strb = 8'hff; g_last = 1'b1; end
            5'd23: begin g_strb = 8'hff; g_last = 1'b0; end
            5'd24: begin g_strb = 8'hff; g_last = 1'b1; end
            5'd25: begin g_strb = 8'hf8; g_last = 1'b0; end
            5'd26: begin g_strb = 8'hff; g_last = 1'b1; end
            default: ;
        endcase
    end
    wire reading = (b_i == NB[2:0]);
    // The one script port is shared: AW uses it while writing, AR while reading; the
    // B-id check and the read check reuse it through the other index.
    always @* a_sel = reading ? ar_i : aw_i;
    assign m_axi_awid    = a_id;
    assign m_axi_awaddr  = a_addr;
    assign m_axi_awlen   = a_len;
    assign m_axi_awsize  = a_size;
    assign m_axi_awburst = 2'd1;
    assign m_axi_awvalid = !reading && aw_i < NB[2:0];
    assign m_axi_arid    = a_id;
    assign m_axi_araddr  = a_addr;
    assign m_axi_arlen   = a_len;
    assign m_axi_arsize  = a_size;
    assign m_axi_arburst = 2'd1;
    assign m_axi_arvalid = reading && ar_i < NB[2:0];
    always @* g_sel = reading ? r_g : w_g;
    integer i;
    always @* begin
        for (i = 0; i < 8; i = i + 1) m_axi_wdata[8*i +: 8] = {w_g[4:0], 3'd0} + i[7:0];
    end
    assign m_axi_wstrb  = g_strb;
    assign m_axi_wlast  = g_last;
    assign m_axi_wvalid = !reading && w_g < NW[4:0];
    assign m_axi_bready = !stall;
    assign m_axi_rready = !stall;
    assign done = reading && rb_i == NB[2:0];
    reg [3:0] b_want [0:NB-1];
    reg r_bad;
    always @* begin
        r_bad = (m_axi_rlast != g_last) || (m_axi_rresp != 2'd0);
        for (i = 0; i < 8; i = i + 1)
            if (g_strb[i] && m_axi_rdata[8*i +: 8] != ({r_g[4:0], 3'd0} + i[7:0])) r_bad = 1'b1;
    end
    always @(posedge clk) begin
        if (rst) begin
            aw_i <= 3'd0; ar_i <= 3'd0; b_i <= 3'd0; rb_i <= 3'd0; w_g <= 5'd0; r_g <= 5'd0;
            errors <= 8'd0;
        end else begin
            if (m_axi_awvalid && m_axi_awready) begin
                b_want[aw_i] <= a_id;
                aw_i <= aw_i + 3'd1;
            end
            if (m_axi_wvalid && m_axi_wready) w_g <= w_g + 5'd1;
            if (m_axi_bvalid && m_axi_bready) begin
                b_i <= b_i + 3'd1;
                if (m_axi_bid != b_want[b_i] || m_axi_bresp != 2'd0) errors <= errors + 8'd1;
            end
            if (m_axi_arvalid && m_axi_arready) ar_i <= ar_i + 3'd1;
            if (m_axi_rvalid && m_axi_rready) begin
                r_g <= r_g + 5'd1;
                if (m_axi_rlast) rb_i <= rb_i + 3'd1;
                if (r_bad) errors <= errors + 8'd1;
            end
        end
    end
endmodule
`default_nettype wire
