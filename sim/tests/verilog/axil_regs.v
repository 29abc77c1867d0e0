// AXI4-Lite register file: registers 0..2 read/write with byte strobes, register 3
// read-only (0xC0FFEE00 + number of writes taken); addresses 0x10..0x1F answer SLVERR.
`default_nettype none
/* verilator lint_off UNUSEDSIGNAL */
module axil_regs (
    input  wire        clk,
    input  wire        rst,
    input  wire [4:0]  s_axil_awaddr,
    input  wire [2:0]  s_axil_awprot,
    input  wire        s_axil_awvalid,
    output wire        s_axil_awready,
    input  wire [31:0] s_axil_wdata,
    input  wire [3:0]  s_axil_wstrb,
    input  wire        s_axil_wvalid,
    output wire        s_axil_wready,
    output reg  [1:0]  s_axil_bresp,
    output reg         s_axil_bvalid,
    input  wire        s_axil_bready,
    input  wire [4:0]  s_axil_araddr,
    input  wire [2:0]  s_axil_arprot,
    input  wire        s_axil_arvalid,
    output wire        s_axil_arready,
    output reg  [31:0] s_axil_rdata,
    output reg  [1:0]  s_axil_rresp,
    output reg         s_axil_rvalid,
    input  wire        s_axil_rready
);
    reg [31:0] r0, r1, r2;
    reg [7:0]  writes;
    integer i;
    // Take AW and W together, only when no response is pending.
    wire take_w = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
    assign s_axil_awready = take_w;
    assign s_axil_wready  = take_w;
    assign s_axil_arready = !s_axil_rvalid;
    always @(posedge clk) begin
        if (rst) begin
            r0 <= 32'd0; r1 <= 32'd0; r2 <= 32'd0; writes <= 8'd0;
            s_axil_bvalid <= 1'b0; s_axil_rvalid <= 1'b0;
            s_axil_bresp <= 2'd0; s_axil_rresp <= 2'd0; s_axil_rdata <= 32'd0;
        end else begin
            if (s_axil_bvalid && s_axil_bready) s_axil_bvalid <= 1'b0;
            if (take_w) begin
                s_axil_bvalid <= 1'b1;
                s_axil_bresp  <= s_axil_awaddr[4] ? 2'd2 : 2'd0;
                writes <= writes + 8'd1;
                for (i = 0; i < 4; i = i + 1) begin
                    if (s_axil_wstrb[i] && !s_axil_awaddr[4]) begin
                        case (s_axil_awaddr[3:2])
                            2'd0: r0[8*i +: 8] <= s_axil_wdata[8*i +: 8];
                            2'd1: r1[8*i +: 8] <= s_axil_wdata[8*i +: 8];
                            2'd2: r2[8*i +: 8] <= s_axil_wdata[8*i +: 8];
                            default: ;
                        endcase
                    end
                end
            end
            if (s_axil_rvalid && s_axil_rready) s_axil_rvalid <= 1'b0;
            if (s_axil_arvalid && !s_axil_rvalid) begin
                s_axil_rvalid <= 1'b1;
                s_axil_rresp  <= s_axil_araddr[4] ? 2'd2 : 2'd0;
                case (s_axil_araddr[3:2])
                    2'd0: s_axil_rdata <= r0;
                    2'd1: s_axil_rdata <= r1;
                    2'd2: s_axil_rdata <= r2;
                    default: s_axil_rdata <= 32'hC0FFEE00 | {24'd0, writes};
                endcase
                if (s_axil_araddr[4]) s_axil_rdata <= 32'd0;
            end
        end
    end
endmodule
`default_nettype wire
